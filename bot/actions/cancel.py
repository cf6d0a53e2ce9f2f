"""`/fleet cancel <request-or-operation>`: stop a request before it runs, or ask the fleet
to cancel its running operation (a step under way completes first, by the contract).

The requester may always cancel their own request; anyone else needs a policy rule that
allows the `cancel` action on the target.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from bot import messages as m
from bot.actions import guards, notify
from bot.actions.confirm import cancel_pending
from bot.actions.guard_chain import ChainResult, GuardContext, Person, RequestView, evaluate
from bot.actions.journal import audit_ready, record
from bot.actions.lifecycle import PENDING, RequestState
from bot.actions.models import ActionRequest
from bot.actions.port import action_backend
from bot.actions.store import load_facts
from bot.audit import vocabulary as v
from bot.db.unit_of_work import writing
from bot.outbox import Message
from bot.permissions.usergroups import role_book
from bot.runtime import Runtime
from integrations.fleet.errors import FleetError, FleetRequestRejected

# Who may cancel: the policy and the permission, nothing that a running action trips
# (its own lock, the concurrency cap).
CANCEL_GUARDS = (guards.AuditReady(), guards.PolicyExists(), guards.Permission())


async def may_cancel(rt: Runtime, row: ActionRequest, actor: Person) -> ChainResult | None:
    """None when `actor` may cancel `row`; else the chain that refused."""
    if actor.id == row.requester_id:
        return None
    view = RequestView(
        id=row.id, action="cancel", target=row.target, params={}, params_hash="", requester=actor
    )
    async with rt.sessions() as session:
        facts = await load_facts(
            session, view, rt.config.policies, rt.clock(), audit_ready=audit_ready(rt)
        )
    result = evaluate(
        CANCEL_GUARDS, GuardContext("submit", view, rt.config.policies, role_book(rt), facts)
    )
    if result.denial is None:
        return None
    rt.metrics.guard_denied(result.denial.guard)
    return result


async def cancel(rt: Runtime, ref: str, actor: Person) -> Message:
    async with rt.sessions() as session:
        row = await session.scalar(
            select(ActionRequest).where(
                or_(ActionRequest.id == ref, ActionRequest.operation_id == ref)
            )
        )
    if row is None:
        return Message(text=m.cancel_unknown(ref))
    refusal = await may_cancel(rt, row, actor)
    if refusal is not None:
        return Message(text=m.decision_refused(refusal.reason()))
    if row.state in PENDING:
        return await cancel_pending(rt, row.id, actor, permitted=True)
    if row.state != RequestState.EXECUTING or row.operation_id is None:
        return Message(text=m.action_already(row.id, row.state))
    try:
        op = await action_backend(rt.fleet, row.target).cancel_operation(row.operation_id, actor.id)
    except FleetRequestRejected as exc:
        return Message(text=m.cancel_refused(row.operation_id, exc.reason))
    except FleetError as exc:
        return Message(text=m.fleet_unavailable(str(exc)))
    async with writing(rt.sessions) as session:
        audit = await record(
            session,
            rt,
            actor=actor,
            action=v.OPERATION_CANCEL,
            row=row,
            outcome=v.ACCEPTED,
            ref=op.id,
            extra={"request": row.id, "operation_state": op.state},
        )
        await notify.in_thread(
            session, rt, row, Message(text=m.cancel_asked(actor.id, op.id, audit.seq))
        )
    rt.wake_outbox()
    return Message(text=m.cancel_asked(actor.id, op.id, audit.seq))
