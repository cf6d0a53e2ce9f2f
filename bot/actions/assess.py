"""One evaluation of the guard chain for a request: database facts, then (only if every
pre-plan guard allowed) the fleet's dry run, then the post-plan guards."""

from __future__ import annotations

from dataclasses import dataclass

from bot.actions import guards
from bot.actions.action_blocks import Preview
from bot.actions.catalog import CATALOG
from bot.actions.guard_chain import ChainResult, GuardContext, Person, RequestView, Stage, evaluate
from bot.actions.journal import audit_ready
from bot.actions.models import ActionRequest
from bot.actions.port import action_backend
from bot.actions.store import load_facts, view_of
from bot.permissions.usergroups import role_book
from bot.runtime import MembershipQuestion, Runtime
from integrations.fleet.errors import FleetError


@dataclass
class Assessment:
    result: ChainResult
    ctx: GuardContext
    preview: Preview | None = None


async def assess(
    rt: Runtime, row: ActionRequest, stage: Stage, clicker: Person | None = None
) -> Assessment:
    view = view_of(row)
    policy = rt.config.policies
    async with rt.sessions() as session:
        facts = await load_facts(session, view, policy, rt.clock(), audit_ready=audit_ready(rt))
    ctx = GuardContext(stage, view, policy, role_book(rt), facts, clicker)
    if ctx.rule is not None and ctx.rule.require_incident:
        facts.incident_member = await incident_member(rt, view)
    pre = evaluate(guards.PRE_PLAN, ctx)
    if pre.denial is not None:
        return Assessment(pre, ctx)
    spec = CATALOG[view.action]
    preview = None
    if spec.fleet_action is not None:
        try:
            backend = action_backend(rt.fleet, view.target)
            plan = await backend.plan(
                view.target, spec.fleet_action, view.params, view.requester.id
            )
            service = await backend.get_service(view.target)
        except FleetError as exc:
            facts.plan_error = str(exc)
        else:
            facts.plan, facts.service = plan, service
            preview = Preview(plan, {mb.name: mb.lag_bytes for mb in service.members})
    # The clock moves while the fleet answers; expiry is judged at the decision.
    facts.now = rt.clock()
    return Assessment(pre + evaluate(guards.POST_PLAN, ctx), ctx, preview)


async def incident_member(rt: Runtime, view: RequestView) -> bool | None:
    """Whether the requester is in the incident the request came from, as the incidents
    area answers it; None without that area, and `require_incident` rules then deny:
    membership that cannot be checked is not assumed."""
    membership = rt.hooks.incident_membership
    if membership is None:
        return None
    asked = MembershipQuestion(
        user_id=view.requester.id,
        channel_id=view.channel_id,
        thread_ts=view.thread_ts,
        service=view.target,
    )
    return await membership(rt, asked)
