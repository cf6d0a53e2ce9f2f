"""The guards of design.md §4, one small object each, in the order the chain runs them.

    PRE_PLAN   audit ready → valid request → policy → permission → on-call → incident
               → freeze → rate limits → concurrency cap → lock
    (the fleet's dry run is fetched only when every pre-plan guard allowed)
    POST_PLAN  plan allowed → capacity floor → plan unchanged → approver → confirmation
               → approval

Each answers allow, deny(reason) or needs(confirmation | approval); see `bot.actions.chain`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot import messages as m
from bot.actions.catalog import RISK_ORDER, InvalidRequest, check_target, validate_params
from bot.actions.chain import ALLOW, Guard, GuardContext, Verdict, deny, needs
from bot.actions.port import plan_digest


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


@dataclass(frozen=True)
class PlanAllowed:
    name: str = "plan"

    def check(self, ctx: GuardContext) -> Verdict:
        plan = ctx.facts.plan
        if plan is None:
            return deny(m.action_no_plan(ctx.facts.plan_error))
        return ALLOW if plan.allowed else deny(m.action_plan_refused(plan.reason))


@dataclass(frozen=True)
class CapacityFloor:
    """Never below N healthy members while the action runs (the 2017 S3 lesson)."""

    name: str = "capacity"

    def check(self, ctx: GuardContext) -> Verdict:
        spec, service, rule = ctx.request.spec, ctx.facts.service, ctx.rule
        if spec is None or spec.capacity_loss == "none" or service is None:
            return ALLOW
        floor = ctx.policy.min_healthy_members
        if rule is not None and rule.min_healthy_members is not None:
            floor = rule.min_healthy_members
        healthy = service.healthy_members
        loss = 1 if healthy else 0
        if spec.capacity_loss == "member":
            member = next(
                (x for x in service.members if x.name == ctx.request.params.get("member")), None
            )
            loss = 1 if member is not None and member.healthy else 0
        if healthy - loss < floor:
            return deny(m.action_capacity(service.name, healthy, loss, floor))
        return ALLOW


@dataclass(frozen=True)
class PlanUnchanged:
    """What runs is what the requester saw: a different plan is a new request."""

    name: str = "plan-unchanged"

    def check(self, ctx: GuardContext) -> Verdict:
        seen, plan = ctx.request.plan_digest, ctx.facts.plan
        if ctx.stage == "submit" or seen is None or plan is None:
            return ALLOW
        return ALLOW if plan_digest(plan) == seen else deny(m.ACTION_PLAN_CHANGED)


@dataclass(frozen=True)
class Approver:
    """On Approve: the clicker is not the requester and holds an approver role."""

    name: str = "approver"

    def check(self, ctx: GuardContext) -> Verdict:
        if ctx.stage != "approve" or ctx.clicker is None:
            return ALLOW
        rule = ctx.rule
        if ctx.clicker.id == ctx.request.requester.id:
            return deny(m.ACTION_SELF_APPROVAL)
        roles = approver_roles(ctx)
        if rule is None or not ctx.in_role(ctx.clicker.id, roles):
            return deny(m.action_not_approver(roles))
        return ALLOW


def approver_roles(ctx: GuardContext) -> list[str]:
    rule = ctx.rule
    if rule is None:
        return []
    return list(ctx.policy.approval_for(rule).roles or rule.roles)


def approval_required(ctx: GuardContext) -> int:
    """How many approvals the request needs (0: none); break-glass needs none."""
    rule = ctx.rule
    if rule is None or ctx.request.break_glass:
        return 0
    if rule.approval is not None or RISK_ORDER[ctx.risk] >= RISK_ORDER["high"]:
        return ctx.policy.approval_for(rule).count
    return 0


def confirmation_required(ctx: GuardContext) -> bool:
    rule = ctx.rule
    return RISK_ORDER[ctx.risk] >= RISK_ORDER["medium"] or bool(rule and rule.always_confirm)


@dataclass(frozen=True)
class Confirmation:
    name: str = "confirmation"

    def check(self, ctx: GuardContext) -> Verdict:
        if ctx.stage == "submit" and confirmation_required(ctx):
            return needs("confirmation", m.ACTION_NEEDS_CONFIRMATION)
        return ALLOW


@dataclass(frozen=True)
class Approval:
    """Bound to the exact parameters, expiring, from different people; one deny vetoes."""

    name: str = "approval"

    def check(self, ctx: GuardContext) -> Verdict:
        count = approval_required(ctx)
        if count == 0:
            return ALLOW
        request, now = ctx.request, ctx.facts.now
        vetoes = [a for a in ctx.facts.approvals if a.decision == "deny"]
        if vetoes:
            return deny(m.action_vetoed(vetoes[0].approver_id))
        if request.expires_at is not None and now >= request.expires_at:
            return deny(m.ACTION_APPROVAL_EXPIRED)
        roles = approver_roles(ctx)
        good = {
            a.approver_id
            for a in ctx.facts.approvals
            if a.decision == "approve"
            and a.approver_id != request.requester.id
            and a.params_hash == request.current_hash
            and ctx.in_role(a.approver_id, roles)
        }
        if len(good) >= count:
            return ALLOW
        return needs("approval", m.action_needs_approval(len(good), count, roles))


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
    Approver(),
    Confirmation(),
    Approval(),
)


def full_chain() -> Sequence[Guard]:
    return (*PRE_PLAN, *POST_PLAN)
