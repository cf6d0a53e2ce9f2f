"""The `policies` section of app.yaml: who may run which action on which services, and when.

Rules are read top to bottom and the first rule whose `actions` and `resources` match the
request decides; a request no rule matches is refused (default deny). Everything that is
not per rule (freeze windows, rate limits, the fleet-wide cap) applies to every request.
See docs/actions.md for the shape with an example.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any, Literal

from apscheduler.triggers.cron import CronTrigger
from pydantic import Field, field_validator, model_validator

from bot.actions.catalog import ACTION_NAMES
from bot.config_model import StrictModel

RiskTier = Literal["low", "medium", "high"]
_DOW = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _known_actions(value: list[str]) -> list[str]:
    unknown = [a for a in value if a != "*" and a not in ACTION_NAMES]
    if unknown:
        raise ValueError(
            f"unknown action(s) {', '.join(unknown)}; known: {', '.join(ACTION_NAMES)}"
        )
    return value


def _matches(patterns: list[str], value: str) -> bool:
    return "*" in patterns or any(fnmatchcase(value, p) for p in patterns)


class ApprovalPolicy(StrictModel):
    # Who may approve; empty means the roles of the rule that allowed the request.
    roles: list[str] = Field(default_factory=list)
    # Approvals needed from different people (never the requester); one deny vetoes.
    count: int = Field(default=1, ge=1, le=5)
    expires_minutes: float = Field(default=15.0, gt=0, le=24 * 60)


class RateLimit(StrictModel):
    """At most `limit` executions in `window_minutes`, per action or per service."""

    actions: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    per: Literal["action", "service"]
    limit: int = Field(ge=1)
    window_minutes: float = Field(gt=0, le=7 * 24 * 60)

    _actions = field_validator("actions")(_known_actions)

    def applies(self, action: str) -> bool:
        return _matches(self.actions, action)


def crontab(expr: str) -> str:
    """A 5-field cron line with standard day-of-week numbers (0 or 7 = Sunday) turned into
    names, because APScheduler counts Monday as 0 and a freeze must not slip by a day."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError("cron needs 5 fields: minute hour day month day-of-week")
    if "/" in fields[4]:
        raise ValueError("cron day-of-week: steps are not supported; list the days")
    fields[4] = re.sub(r"\d+", lambda m: _DOW[int(m.group()) % 7], fields[4])
    return " ".join(fields)


class FreezeWindow(StrictModel):
    """A change freeze: fixed (`start`/`end`, UTC) or recurring (`cron` + `duration_minutes`)."""

    name: str = Field(min_length=1)
    start: datetime | None = None
    end: datetime | None = None
    cron: str | None = None
    duration_minutes: float | None = Field(default=None, gt=0, le=31 * 24 * 60)
    resources: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    actions: list[str] = Field(default_factory=lambda: ["*"], min_length=1)

    _actions = field_validator("actions")(_known_actions)

    @model_validator(mode="after")
    def _one_kind(self) -> FreezeWindow:
        fixed = self.start is not None and self.end is not None
        recurring = self.cron is not None and self.duration_minutes is not None
        if fixed == recurring or (not fixed and (self.start or self.end)):
            raise ValueError("a freeze has either start and end, or cron and duration_minutes")
        if fixed:
            assert self.start is not None and self.end is not None
            if self.start.tzinfo is None or self.end.tzinfo is None:
                raise ValueError("freeze start and end need a UTC offset (…Z or +00:00)")
            if self.end <= self.start:
                raise ValueError("freeze end must be after its start")
        else:
            assert self.cron is not None
            try:
                CronTrigger.from_crontab(crontab(self.cron), timezone="UTC")
            except ValueError as exc:
                raise ValueError(f"cron: {exc}") from None
        return self

    def applies(self, action: str, target: str) -> bool:
        return _matches(self.actions, action) and _matches(self.resources, target)

    def active_at(self, now: datetime) -> bool:
        if self.start is not None and self.end is not None:
            return self.start <= now < self.end
        assert self.cron is not None and self.duration_minutes is not None
        window = timedelta(minutes=self.duration_minutes)
        trigger = _trigger(self.cron)
        # The window is on when its latest start is within `duration` before now.
        began = trigger.get_next_fire_time(None, now - window)
        return began is not None and began <= now


_TRIGGERS: dict[str, Any] = {}


def _trigger(cron: str) -> Any:
    # Parsing a cron line costs more than the rest of the chain; parse each one once.
    found = _TRIGGERS.get(cron)
    if found is None:
        found = _TRIGGERS[cron] = CronTrigger.from_crontab(crontab(cron), timezone="UTC")
    return found


class ActionRule(StrictModel):
    actions: list[str] = Field(min_length=1)
    # Glob patterns of service names; `*` is every service.
    resources: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    # Roles (from `roles:`) whose members may request these actions.
    roles: list[str] = Field(min_length=1)
    # The requester must also be on call (`policies.oncall_role`) / in the incident.
    require_oncall: bool = False
    require_incident: bool = False
    # Replaces the catalog's tier; it never goes below the risk the fleet's plan states.
    risk: RiskTier | None = None
    # Ask the requester to confirm even a low-risk action (medium and high always are).
    always_confirm: bool = False
    # Set: approval is required whatever the risk. Unset: high risk uses `policies.approval`.
    approval: ApprovalPolicy | None = None
    # The capacity floor here; unset uses `policies.min_healthy_members`.
    min_healthy_members: int | None = Field(default=None, ge=0)
    # Who may use break-glass here; unset uses `policies.break_glass_roles`.
    break_glass_roles: list[str] | None = None

    _actions = field_validator("actions")(_known_actions)

    def matches(self, action: str, target: str) -> bool:
        return self.covers(action) and _matches(self.resources, target)

    def covers(self, action: str) -> bool:
        """The rule names `action` (on some service)."""
        return _matches(self.actions, action)


class PoliciesConfig(StrictModel):
    # Empty: every action is refused. That is the safe default, not an oversight.
    rules: list[ActionRule] = Field(default_factory=list)
    oncall_role: str = "oncall"
    break_glass_roles: list[str] = Field(default_factory=list)
    approval: ApprovalPolicy = ApprovalPolicy()
    freeze: list[FreezeWindow] = Field(default_factory=list)
    rate_limits: list[RateLimit] = Field(default_factory=list)
    max_concurrent_operations: int = Field(default=3, ge=1)
    min_healthy_members: int = Field(default=1, ge=0)
    lock_ttl_minutes: float = Field(default=30.0, gt=0, le=24 * 60)
    # How long a preview waits for its Confirm before the request (and its lock) lapse.
    confirm_minutes: float = Field(default=10.0, gt=0, le=24 * 60)
    tracking_interval_seconds: float = Field(default=2.0, gt=0, le=300)
    # An execution that has not recorded its operation after this long is reconciled.
    reconcile_after_seconds: float = Field(default=60.0, gt=0)

    def rule_for(self, action: str, target: str) -> tuple[int, ActionRule] | None:
        return next(((i, r) for i, r in enumerate(self.rules) if r.matches(action, target)), None)

    def approval_for(self, rule: ActionRule) -> ApprovalPolicy:
        return rule.approval or self.approval

    def active_freeze(self, action: str, target: str, now: datetime) -> FreezeWindow | None:
        return next(
            (f for f in self.freeze if f.applies(action, target) and f.active_at(now)), None
        )
