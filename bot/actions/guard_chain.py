"""The guard chain: what a guard sees, what it answers, and how the answers combine.

Guards are small objects with one method, `check(ctx) -> Verdict`, in the spirit of Bolt's
middleware. They are pure: everything they read (the lock, recent executions, the plan,
the approvals) is loaded into `Facts` first, so a guard cannot reach the fleet and a
chain is cheap to run again when a button is clicked.

Combining: guards run in order; the first `deny` ends the chain; a guard that raises is a
deny (default deny); `needs` answers are collected, and the requester's confirmation comes
before others' approval. Only an all-`allow` chain lets the request execute.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from bot.actions.catalog import CATALOG, ActionSpec, at_least, params_hash
from bot.actions.policy import ActionRule, PoliciesConfig
from bot.permissions.roles import holds
from bot.roles import RoleBinding
from integrations.fleet.models import ParamValue, Plan, Risk, Service

log = logging.getLogger(__name__)

Stage = Literal["submit", "confirm", "approve", "execute"]
Need = Literal["confirmation", "approval"]
Outcome = Literal["denied", "needs_approval", "needs_confirmation", "allowed"]


@dataclass(frozen=True)
class Verdict:
    kind: Literal["allow", "deny", "needs"]
    reason: str = ""
    need: Need | None = None


ALLOW = Verdict("allow")


def deny(reason: str) -> Verdict:
    return Verdict("deny", reason)


def needs(need: Need, reason: str = "") -> Verdict:
    return Verdict("needs", reason, need)


@dataclass(frozen=True)
class Person:
    id: str
    name: str = ""


@dataclass(frozen=True)
class RequestView:
    """The request as guards see it; `params_hash` is what was stored when it was made."""

    id: str
    action: str
    target: str
    params: Mapping[str, ParamValue]
    params_hash: str
    requester: Person
    reason: str | None = None
    break_glass: bool = False
    channel_id: str = ""
    thread_ts: str | None = None
    # The plan the requester saw (stage confirm and later), and the approval deadline.
    plan_digest: str | None = None
    expires_at: datetime | None = None

    @property
    def spec(self) -> ActionSpec | None:
        return CATALOG.get(self.action)

    @property
    def current_hash(self) -> str:
        """Recomputed from the stored parameters: an edit of the row shows up here."""
        return params_hash(self.action, self.target, self.params)


@dataclass(frozen=True)
class LockView:
    resource: str
    request_id: str
    owner_id: str
    owner_name: str
    action: str
    since: datetime
    expires_at: datetime


@dataclass(frozen=True)
class ApprovalView:
    approver_id: str
    decision: Literal["approve", "deny"]
    params_hash: str
    at: datetime


@dataclass
class Facts:
    now: datetime
    audit_ready: bool = True
    lock: LockView | None = None
    # (action, target, claimed_at) of other requests that executed recently.
    recent: Sequence[tuple[str, str, datetime]] = ()
    running: int = 0
    approvals: Sequence[ApprovalView] = ()
    incident_member: bool | None = None
    plan: Plan | None = None
    # Why there is no plan: the fleet's error, shown instead of a plan.
    plan_error: str | None = None
    service: Service | None = None


@dataclass
class GuardContext:
    stage: Stage
    request: RequestView
    policy: PoliciesConfig
    roles: Mapping[str, RoleBinding]
    facts: Facts
    # Who clicked (the approver on Approve); None for the command itself.
    clicker: Person | None = None
    _rule: tuple[int, ActionRule] | None = field(default=None, init=False)
    _rule_known: bool = field(default=False, init=False)

    @property
    def matched(self) -> tuple[int, ActionRule] | None:
        if not self._rule_known:
            self._rule = self.policy.rule_for(self.request.action, self.request.target)
            self._rule_known = True
        return self._rule

    @property
    def rule(self) -> ActionRule | None:
        found = self.matched
        return found[1] if found else None

    def in_role(self, user_id: str, roles: Sequence[str]) -> bool:
        # Resolved where the permission step of commands resolves them (one place).
        return holds(self.roles, user_id, roles)

    @property
    def risk(self) -> Risk:
        spec, rule = self.request.spec, self.rule
        base: Risk = (rule.risk if rule and rule.risk else None) or (
            spec.risk_for(self.request.params) if spec else "high"
        )
        plan = self.facts.plan
        # An override may lower the catalog's tier, never below what the fleet's plan says.
        return at_least(base, plan.risk) if plan is not None else base


class Guard(Protocol):
    @property
    def name(self) -> str: ...

    def check(self, ctx: GuardContext) -> Verdict: ...


@dataclass(frozen=True)
class Decision:
    guard: str
    verdict: Verdict

    def as_audit(self) -> list[str]:
        v = self.verdict
        return [self.guard, (v.need and f"needs_{v.need}") or v.kind, v.reason]


@dataclass(frozen=True)
class ChainResult:
    decisions: tuple[Decision, ...]

    @property
    def denial(self) -> Decision | None:
        return next((d for d in self.decisions if d.verdict.kind == "deny"), None)

    @property
    def needs(self) -> frozenset[Need]:
        return frozenset(d.verdict.need for d in self.decisions if d.verdict.need is not None)

    @property
    def outcome(self) -> Outcome:
        if self.denial is not None:
            return "denied"
        # The requester confirms first; only then are others asked to approve.
        if "confirmation" in self.needs:
            return "needs_confirmation"
        if "approval" in self.needs:
            return "needs_approval"
        return "allowed"

    def reason(self) -> str:
        if self.denial is not None:
            return self.denial.verdict.reason
        return "; ".join(
            d.verdict.reason for d in self.decisions if d.verdict.need and d.verdict.reason
        )

    def __add__(self, other: ChainResult) -> ChainResult:
        return ChainResult(self.decisions + other.decisions)


def evaluate(guards: Sequence[Guard], ctx: GuardContext) -> ChainResult:
    decisions: list[Decision] = []
    for guard in guards:
        try:
            verdict = guard.check(ctx)
        except Exception:
            # A broken guard must never open the gate: it denies, and the log says why.
            log.exception("guard %s raised on request %s", guard.name, ctx.request.id)
            verdict = deny(f"the {guard.name} check failed, so the request is refused")
        decisions.append(Decision(guard.name, verdict))
        if verdict.kind == "deny":
            break
    return ChainResult(tuple(decisions))
