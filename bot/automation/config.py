"""The `runbooks:` and `automation:` sections of app.yaml: which pages the bot fixes by
itself, with which action, and the limits that keep it from running away.

    automation:
      limits: {runs_per_service_per_hour: 3, max_concurrent: 2, stop_after_failures: 3}
    runbooks:
      - name: replica-lag
        match: {alertname: PostgresReplicationLag}      # label -> glob, all must match
        action: reinit
        params: {member: "{member}"}                    # templated from the page's labels
        mode: auto                                      # suggest | auto | dry-run
        limits: {runs_per_service_per_hour: 2}
        confirm: {lag_bytes_above: 16777216}            # what the fleet must show first

A runbook's own limits apply to its runs; `automation.limits` to all runs together. The
first runbook whose `match` fits a page decides; a page no runbook matches is left to
people, as before.

A page is a claim, not a fact: before a runbook plans anything, the fleet is asked about
the member the page names (`bot.automation.confirm`), and `confirm` says what it must
show. Actions with an obvious fault have a default condition; others need one written.
"""

from __future__ import annotations

import string
from fnmatch import fnmatchcase
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from bot.actions.catalog import CATALOG
from bot.config_model import StrictModel
from integrations.fleet.models import MemberState

Mode = Literal["suggest", "auto", "dry-run"]
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"
# Never "primary": a page cannot send automation to rebuild or restart a primary.
RepairableRole = Literal["replica", "broker", "controller"]
# The simulator's (and a common alerting) threshold of a replica "far behind".
DEFAULT_LAG_BYTES = 16 * 1024 * 1024
SWITCH_ROLES_MOVED = (
    "switch_roles is no longer read: who may pause and resume automation is set in "
    "`permissions:` (the verbs automation.pause and automation.resume); move the roles there"
)


class Limits(StrictModel):
    """Unset: no such limit at this level (the other level may still have one)."""

    runs_per_service_per_hour: int | None = Field(default=None, ge=1)
    max_concurrent: int | None = Field(default=None, ge=1)
    # Never run when the service would have fewer healthy members than this meanwhile.
    min_healthy_members: int | None = Field(default=None, ge=0)
    # This many failures in a row (since the last `/fleet automation resume`): stop.
    stop_after_failures: int | None = Field(default=None, ge=1)


def _replicas() -> list[RepairableRole]:
    return ["replica"]


class Confirm(StrictModel):
    """What the fleet must show of the member a page names before its runbook plans: the
    member exists, has one of `roles`, and its lag is above `lag_bytes_above` or its
    state is one of `states` (either, when both are set)."""

    roles: list[RepairableRole] = Field(default_factory=_replicas, min_length=1)
    lag_bytes_above: int | None = Field(default=None, ge=0)
    states: list[MemberState] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_condition(self) -> Confirm:
        if self.lag_bytes_above is None and not self.states:
            raise ValueError("set lag_bytes_above, states, or both")
        return self


# The fault each member action repairs, when a runbook does not say.
DEFAULT_CONFIRM: dict[str, Confirm] = {
    "reinit": Confirm(lag_bytes_above=DEFAULT_LAG_BYTES),
    "restart": Confirm(states=["stopped", "failed"]),
    "replace": Confirm(states=["stopped", "failed"]),
}


class RunbookConfig(StrictModel):
    name: str = Field(pattern=NAME_PATTERN)
    # label (or page field: service, kind, severity, source, title) -> glob pattern.
    match: dict[str, str] = Field(min_length=1)
    action: str
    # parameter -> value; `{label}` is replaced by the page's label of that name.
    params: dict[str, str] = Field(default_factory=dict)
    mode: Mode = "suggest"
    limits: Limits = Limits()
    # Unset: the action's default (DEFAULT_CONFIRM); see `condition`.
    confirm: Confirm | None = None

    @field_validator("action")
    @classmethod
    def _runnable(cls, value: str) -> str:
        spec = CATALOG.get(value)
        if spec is None or spec.fleet_action is None:
            runnable = ", ".join(n for n, s in CATALOG.items() if s.fleet_action)
            raise ValueError(f"unknown action {value!r}; known: {runnable}")
        return value

    @model_validator(mode="after")
    def _params_fit(self) -> RunbookConfig:
        spec = CATALOG[self.action]
        known = {p.name for p in spec.params}
        unknown = sorted(set(self.params) - known)
        if unknown:
            raise ValueError(f"`{self.action}` takes {', '.join(known) or 'no parameters'}")
        missing = [p.name for p in spec.params if p.required and p.name not in self.params]
        if missing:
            raise ValueError(f"`{self.action}` needs {', '.join(missing)}")
        for key, template in self.params.items():
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
            except ValueError as exc:
                raise ValueError(f"params.{key}: {exc}") from None
            if any(not f.isidentifier() for f in fields):
                raise ValueError(f"params.{key}: use {{label}} with a plain label name")
        return self

    @model_validator(mode="after")
    def _confirmable(self) -> RunbookConfig:
        """Automation repairs one member the fleet can be asked about, never a page's word."""
        if "member" not in self.params:
            raise ValueError('a runbook repairs one member: set params.member (e.g. "{member}")')
        if self.confirm is None and self.action not in DEFAULT_CONFIRM:
            raise ValueError(
                f"`{self.action}` has no default fault to confirm: set confirm "
                "(lag_bytes_above and/or states)"
            )
        return self

    @property
    def condition(self) -> Confirm:
        """What the fleet must show; `_confirmable` made sure there is one."""
        return self.confirm or DEFAULT_CONFIRM[self.action]

    def matches(self, labels: dict[str, str]) -> bool:
        return all(fnmatchcase(labels.get(k, ""), pattern) for k, pattern in self.match.items())

    def params_for(self, labels: dict[str, str]) -> dict[str, str] | None:
        """The parameters filled from the labels; None when a label they name is missing."""
        try:
            return {k: v.format_map(labels) for k, v in self.params.items()}
        except (KeyError, ValueError, IndexError):
            return None


class AutomationConfig(StrictModel):
    # Off: runbooks are not even suggested; the kill switch is the runtime "off".
    enabled: bool = True
    limits: Limits = Limits(runs_per_service_per_hour=3, max_concurrent=2, stop_after_failures=3)
    # A page on a service automation acted on this recently is taken as caused by that
    # action: it is counted against the limits and starts no run of its own.
    feedback_window_minutes: float = Field(default=15.0, ge=0, le=24 * 60)
    # On a failure or a limit hit, also trigger PagerDuty (when a routing key is set).
    pagerduty: bool = True
    # Intake sources whose pages may start a runbook (`alertmanager`, `pagerduty`,
    # `grafana`, `generic:<name>`). Unset: every source with credentials in `intake:`.
    sources: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _switch_roles_moved(cls, data: Any) -> Any:
        # Dropping it quietly would change who may pause automation without a word.
        if isinstance(data, dict) and "switch_roles" in data:
            raise ValueError(SWITCH_ROLES_MOVED)
        return data


Runbooks = list[RunbookConfig]


def unique_names(value: list[RunbookConfig]) -> list[RunbookConfig]:
    names = [r.name for r in value]
    if len(names) != len(set(names)):
        raise ValueError("runbook names must be unique")
    return value


def runbook_for(runbooks: Runbooks, labels: dict[str, str]) -> RunbookConfig | None:
    return next((r for r in runbooks if r.matches(labels)), None)
