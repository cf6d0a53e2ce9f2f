"""The guards that read the fleet's plan, and the consents: confirmation and approval.

They run after the pre-plan guards of `bot.actions.guards` allowed, once the fleet's dry
run and the service's state are in `Facts`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import messages as m
from bot.actions.catalog import RISK_ORDER
from bot.actions.guard_chain import ALLOW, GuardContext, Verdict, deny, needs
from bot.actions.port import plan_digest
from bot.audit.actors import AUTOMATION_ID


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
class Unattended:
    """The bot's own automation runs only what needs nobody's approval; anything else it
    may only suggest to a person (see bot.automation)."""

    name: str = "unattended"

    def check(self, ctx: GuardContext) -> Verdict:
        if ctx.request.requester.id == AUTOMATION_ID and approval_required(ctx):
            return deny(m.AUTOMATION_NEEDS_APPROVAL)
        return ALLOW


@dataclass(frozen=True)
class Confirmation:
    name: str = "confirmation"

    def check(self, ctx: GuardContext) -> Verdict:
        if ctx.request.requester.id == AUTOMATION_ID:
            # Nobody is there to click Confirm: the runbook was the confirmation.
            return Verdict("allow", m.AUTOMATION_CONFIRMED_BY_RUNBOOK)
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
