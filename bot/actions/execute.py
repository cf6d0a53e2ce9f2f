"""Execution, exactly once: the claim, the one fleet call, and what its answer means.

The claim is a conditional UPDATE `approved → executing` that also requires that no one
has denied the request; its row count decides which replica, click or retry runs the
action. Only the winner calls the fleet, with the request's idempotency key, so even a
fleet that saw the call twice would start one operation.

What the answer means:
- accepted: the operation is tracked (`bot.actions.tracking`) to its end;
- refused (4xx), no backend, or a connection that was never made: nothing started, so
  the request is `failed` and the lock released;
- timeout, 5xx, a malformed answer, anything else: the call may have started work, so
  the request is `unknown`, the lock is left to expire (it still protects the target)
  and reconciliation looks the operation up on the fleet; it is never sent again.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages as m
from bot.actions import action_blocks, notify
from bot.actions.catalog import CATALOG
from bot.actions.guard_chain import Person
from bot.actions.journal import observe_duration, record
from bot.actions.lifecycle import RUNNING, RequestState
from bot.actions.models import ActionApproval, ActionRequest
from bot.actions.moves import AuditStep, Moved, Say, move
from bot.actions.port import NoActionBackend, action_backend
from bot.actions.review import ask_for_review, needs_review
from bot.actions.store import get_request, renew_lock
from bot.audit import vocabulary as v
from bot.db.unit_of_work import writing
from bot.log_context import bound
from bot.outbox import Message
from bot.runtime import Runtime
from integrations.fleet.errors import FleetRequestRejected, FleetUnavailable
from integrations.fleet.models import Operation

log = logging.getLogger(__name__)


def never_sent(exc: Exception) -> bool:
    """True when the fleet cannot have seen the call: refused, or no connection at all."""
    if isinstance(exc, FleetRequestRejected | NoActionBackend):
        return True
    # HttpFleet names the transport error; a refused connection never carried the POST.
    return isinstance(exc, FleetUnavailable) and "(ConnectError)" in str(exc)


def _requester(row: ActionRequest) -> Person:
    return Person(row.requester_id, row.requester_name)


async def approvers_of(session: AsyncSession, request_id: str) -> list[str]:
    found = await session.scalars(
        select(ActionApproval.approver_id).where(
            ActionApproval.request_id == request_id, ActionApproval.decision == "approve"
        )
    )
    return list(found)


async def execute(rt: Runtime, request_id: str) -> Message:
    with bound(action_id=request_id):
        return await _execute(rt, request_id)


async def _execute(rt: Runtime, request_id: str) -> Message:
    now = rt.clock()
    vetoed = exists().where(
        ActionApproval.request_id == ActionRequest.id, ActionApproval.decision == "deny"
    )
    async with writing(rt.sessions) as session:
        # By id, and what follows by hand: the row and its approvers are read after the
        # claim, so a loser reports the state it lost to and the audit row names everyone
        # who approved.
        claimed = await move(
            session,
            rt,
            request_id,
            to=RequestState.EXECUTING,
            expect=(RequestState.APPROVED,),
            where=[~vetoed],
            facts={"claimed_at": now, "claimed_by": rt.scheduler.owner},
        )
        row = await get_request(session, request_id)
        assert row is not None
        if not claimed:
            return Message(text=m.action_already(row.id, row.state))
        ttl = timedelta(minutes=rt.config.policies.lock_ttl_minutes)
        await renew_lock(session, row.target, row.id, now + ttl)
        approvers = await approvers_of(session, row.id)
        await record(
            session,
            rt,
            actor=_requester(row),
            action=v.OPERATION_REQUESTED,
            row=row,
            outcome=v.ACCEPTED,
            extra={"approved_by": approvers},
        )
        status = m.card_running(row.requester_id, approvers)
        if row.card_posted:
            await notify.update_card(session, rt, row, action_blocks.card(row, status))
        else:
            row.card_posted = True
            await notify.post_card(session, rt, row, action_blocks.card(row, status))
        await notify.in_thread(
            session, rt, row, Message(text=m.STARTING), key=notify.progress_key(row.id)
        )
        if needs_review(row, approvers):
            # Nobody but the actor decided this: a second person is asked to look, now.
            await ask_for_review(session, rt, row)
    rt.wake_outbox()
    return await _start(rt, row, approvers)


async def _start(rt: Runtime, row: ActionRequest, approvers: list[str]) -> Message:
    spec = CATALOG[row.action]
    assert spec.fleet_action is not None
    try:
        backend = action_backend(rt.fleet, row.target)
        op = await backend.start_operation(
            row.target,
            spec.fleet_action,
            json.loads(row.params),
            actor=row.requester_id,
            idempotency_key=row.idempotency_key,
            approved_by=approvers,
        )
    except Exception as exc:  # every failure is an answer in the thread, never a crash
        if never_sent(exc):
            return await _not_started(rt, row, str(exc))
        log.warning("start of request %s has no clear outcome: %s", row.id, exc)
        return await _unknown(rt, row, str(exc) or type(exc).__name__)
    return await started(rt, row, op, approvers)


async def started(rt: Runtime, row: ActionRequest, op: Operation, approvers: list[str]) -> Message:
    async with writing(rt.sessions) as session:
        moved = await move(
            session,
            rt,
            row,
            to=RequestState.EXECUTING,
            expect=RUNNING,
            facts={"operation_id": op.id},
            audit=AuditStep(
                _requester(row),
                v.OPERATION_STARTED,
                v.ACCEPTED,
                ref=op.id,
                extra={
                    "request": row.id,
                    "operation": op.id,
                    "actor": op.actor,
                    "approved_by": approvers,
                },
            ),
            say=Say(progress=action_blocks.progress(row, op)),
        )
        if not moved:
            return Message(text=m.action_already(row.id, row.state))
    rt.wake_outbox()
    return Message(text=m.operation_started(op.id, row.action, row.target, moved.seq))


async def _not_started(rt: Runtime, row: ActionRequest, reason: str) -> Message:
    text = m.start_failed(row.action, row.target, reason)

    def said(moved: Moved) -> Say:
        return Say(progress=action_blocks.result(text, [], [moved.seq]), card=text)

    async with writing(rt.sessions) as session:
        moved = await move(
            session,
            rt,
            row,
            to=RequestState.FAILED,
            expect=(RequestState.EXECUTING,),
            facts={"detail": reason, "finished_at": rt.clock()},
            audit=AuditStep(
                _requester(row), v.OPERATION_STARTED, v.FAILED, extra={"error": reason}
            ),
            say=said,
        )
        if not moved:
            return Message(text=m.action_already(row.id, row.state))
        observe_duration(rt, row, RequestState.FAILED)
    rt.wake_outbox()
    return Message(text=text)


async def _unknown(rt: Runtime, row: ActionRequest, reason: str) -> Message:
    lock_until = rt.clock() + timedelta(minutes=rt.config.policies.lock_ttl_minutes)
    text = m.start_unknown(row.action, row.target, reason, lock_until)

    def said(moved: Moved) -> Say:
        return Say(progress=action_blocks.result(text, [], [moved.seq]))

    async with writing(rt.sessions) as session:
        moved = await move(
            session,
            rt,
            row,
            to=RequestState.UNKNOWN,
            expect=(RequestState.EXECUTING,),
            facts={"detail": reason},
            audit=AuditStep(
                _requester(row),
                v.OPERATION_STARTED,
                v.UNKNOWN,
                extra={"error": reason, "lock_until": lock_until.isoformat()},
            ),
            say=said,
        )
        if not moved:
            return Message(text=m.action_already(row.id, row.state))
    rt.wake_outbox()
    return Message(text=text)
