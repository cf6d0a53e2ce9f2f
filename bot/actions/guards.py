"""The guards of the guard chain (docs/actions.md), one small object each, in the order
the chain runs them.

    PRE_PLAN   audit ready → valid request → policy → permission → on-call → incident
               → freeze → rate limits → concurrency cap → lock
    (the fleet's dry run is fetched only when every pre-plan guard allowed)
    POST_PLAN  plan allowed → capacity floor → plan unchanged → unattended (the bot's
               automation never gets approval) → approver → confirmation → approval

Each answers allow, deny(reason) or needs(confirmation | approval); see `bot.actions.guard_chain`.
The post-plan guards live in `bot.actions.consent` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot import messages as m
from bot.actions.catalog import InvalidRequest, check_target, validate_params
from bot.actions.consent import (
    Approval,
    Approver,
    CapacityFloor,
    Confirmation,
    PlanAllowed,
    PlanUnchanged,
    Unattended,
    approval_required,
    approver_roles,
    confirmation_required,
)
from bot.actions.guard_chain import ALLOW, Guard, GuardContext, Verdict, deny


@dataclass(frozen=True)
class AuditReady:
    """No audit key, no action: an action nobody can account for does not run."""

    name: str = "audit"

    def check(self, ctx: GuardContext) -> Verdict:
        return ALLOW if ctx.facts.audit_ready else deny(m.ACTION_AUDIT_MISSING)


@dataclass(frozen=True)
class ValidRequest:
    name: str = "validation"

    def check(self, ctx: GuardContext) -> Verdict:
        request, spec = ctx.request, ctx.request.spec
        if spec is None:
            return deny(m.action_unknown(request.action))
        try:
            check_target(request.target)
            typed = validate_params(spec, request.params)
        except InvalidRequest as exc:
            return deny(str(exc))
        if typed != dict(request.params) or request.current_hash != request.params_hash:
            return deny(m.ACTION_PARAMS_CHANGED)
        return ALLOW


@dataclass(frozen=True)
class PolicyExists:
    name: str = "policy"

    def check(self, ctx: GuardContext) -> Verdict:
        if ctx.rule is None:
            return deny(m.action_no_policy(ctx.request.action, ctx.request.target))
        return ALLOW


@dataclass(frozen=True)
class Permission:
    """The requester's roles, re-checked on every click; break-glass never skips this."""

    name: str = "permission"

    def check(self, ctx: GuardContext) -> Verdict:
        rule, request = ctx.rule, ctx.request
        if rule is None:
            return deny(m.action_no_policy(request.action, request.target))
        if not ctx.in_role(request.requester.id, rule.roles):
            return deny(m.action_not_permitted(request.requester.id, request.action, rule.roles))
        if request.break_glass:
            roles = (
                ctx.policy.break_glass_roles
                if rule.break_glass_roles is None
                else rule.break_glass_roles
            )
            if not ctx.in_role(request.requester.id, roles):
                return deny(m.break_glass_not_permitted(roles))
            if not (request.reason or "").strip():
                return deny(m.BREAK_GLASS_NEEDS_REASON)
        return ALLOW


@dataclass(frozen=True)
class OnCall:
    name: str = "on-call"

    def check(self, ctx: GuardContext) -> Verdict:
        rule = ctx.rule
        if rule is None or not rule.require_oncall:
            return ALLOW
        if ctx.in_role(ctx.request.requester.id, [ctx.policy.oncall_role]):
            return ALLOW
        return deny(m.action_needs_oncall(ctx.policy.oncall_role))


@dataclass(frozen=True)
class IncidentMembership:
    name: str = "incident"

    def check(self, ctx: GuardContext) -> Verdict:
        rule = ctx.rule
        if rule is None or not rule.require_incident:
            return ALLOW
        if ctx.facts.incident_member is None:
            return deny(m.ACTION_INCIDENT_UNCHECKABLE)
        return ALLOW if ctx.facts.incident_member else deny(m.ACTION_NOT_IN_INCIDENT)


@dataclass(frozen=True)
class Freeze:
    name: str = "freeze"

    def check(self, ctx: GuardContext) -> Verdict:
        request = ctx.request
        window = ctx.policy.active_freeze(request.action, request.target, ctx.facts.now)
        if window is None:
            return ALLOW
        if request.break_glass:
            return Verdict("allow", m.freeze_skipped(window.name))
        return deny(m.action_frozen(window.name))


@dataclass(frozen=True)
class RateLimits:
    name: str = "rate-limit"

    def check(self, ctx: GuardContext) -> Verdict:
        request, now = ctx.request, ctx.facts.now
        for limit in ctx.policy.rate_limits:
            if not limit.applies(request.action):
                continue
            since = now - timedelta(minutes=limit.window_minutes)
            per_service = limit.per == "service"
            # Cheapest test first: this runs over every recent execution of the window.
            count = sum(
                1
                for action, target, at in ctx.facts.recent
                if at >= since
                and (target == request.target if per_service else action == request.action)
                and limit.applies(action)
            )
            if count >= limit.limit:
                what = request.target if limit.per == "service" else request.action
                return deny(
                    m.action_rate_limited(limit.per, what, limit.limit, limit.window_minutes)
                )
        return ALLOW


@dataclass(frozen=True)
class ConcurrencyCap:
    name: str = "concurrency"

    def check(self, ctx: GuardContext) -> Verdict:
        cap = ctx.policy.max_concurrent_operations
        if ctx.request.action != "cancel" and ctx.facts.running >= cap:
            return deny(m.action_concurrency(ctx.facts.running, cap))
        return ALLOW


@dataclass(frozen=True)
class ResourceLockFree:
    """The target's lease is free, expired, or already this request's own."""

    name: str = "lock"

    def check(self, ctx: GuardContext) -> Verdict:
        lock = ctx.facts.lock
        if lock is None or lock.request_id == ctx.request.id or lock.expires_at <= ctx.facts.now:
            return ALLOW
        return deny(m.action_locked(ctx.request.target, lock))


PRE_PLAN: tuple[Guard, ...] = (
    AuditReady(),
    ValidRequest(),
    PolicyExists(),
    Permission(),
    OnCall(),
    IncidentMembership(),
    Freeze(),
    RateLimits(),
    ConcurrencyCap(),
    ResourceLockFree(),
)
POST_PLAN: tuple[Guard, ...] = (
    PlanAllowed(),
    CapacityFloor(),
    PlanUnchanged(),
    Unattended(),
    Approver(),
    Confirmation(),
    Approval(),
)


def full_chain() -> Sequence[Guard]:
    return (*PRE_PLAN, *POST_PLAN)


__all__ = [
    "POST_PLAN",
    "PRE_PLAN",
    "Approval",
    "Approver",
    "AuditReady",
    "CapacityFloor",
    "ConcurrencyCap",
    "Confirmation",
    "Freeze",
    "IncidentMembership",
    "OnCall",
    "Permission",
    "PlanAllowed",
    "PlanUnchanged",
    "PolicyExists",
    "RateLimits",
    "ResourceLockFree",
    "Unattended",
    "ValidRequest",
    "approval_required",
    "approver_roles",
    "confirmation_required",
    "full_chain",
]
