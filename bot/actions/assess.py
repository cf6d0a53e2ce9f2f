"""One evaluation of the guard chain for a request: database facts, then (only if every
pre-plan guard allowed) the fleet's dry run, then the post-plan guards."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.actions import guards
from bot.actions.action_blocks import Preview
from bot.actions.catalog import CATALOG
from bot.actions.guard_chain import ChainResult, GuardContext, Person, RequestView, Stage, evaluate
from bot.actions.journal import audit_ready
from bot.actions.models import ActionRequest
from bot.actions.port import action_backend
from bot.actions.store import load_facts, view_of
from bot.runtime import Runtime
from integrations.fleet.errors import FleetError

# Whether a person is in the incident a request came from; set by the incidents module.
IncidentCheck = Callable[[Runtime, RequestView], Awaitable[bool]]
_incident_check: list[IncidentCheck] = []


def set_incident_membership(check: IncidentCheck | None) -> None:
    """Install (or remove) the incident-membership lookup `require_incident` rules need.

    Without one, such rules deny: membership that cannot be checked is not assumed.
    """
    _incident_check.clear()
    if check is not None:
        _incident_check.append(check)


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
    ctx = GuardContext(stage, view, policy, rt.config.roles, facts, clicker)
    if ctx.rule is not None and ctx.rule.require_incident and _incident_check:
        facts.incident_member = await _incident_check[0](rt, view)
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
