"""Reconciliation: what became of a request whose start has no clear answer.

A request is reconciled when it is `unknown` (the start call timed out or failed oddly),
or `executing` without an operation id for longer than `reconcile_after_seconds` (the
replica crashed between its claim and recording the answer). Either way the fleet is
*asked*, never told again:

- an operation on the target with the same action, parameters and actor, created after
  the claim and tracked by no other request, is adopted and tracked;
- when the fleet answers and has none after the grace period, nothing ran: `failed`,
  and the lock is released;
- when the fleet does not answer, the request stays (or becomes) `unknown` and its lock
  is left to expire; the next tracking pass asks again.

A running operation whose progress can no longer be read (`lost_contact`: the fleet went
down or hangs mid-operation) becomes `unknown` the same way and is reconciled from then
on: found again, it is tracked to its end; gone from a fleet that answers (it lost its
state), it is `failed`, saying it may have been partly applied. Never `succeeded` unseen.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from sqlalchemy import select

from bot import messages as m
from bot.actions import notify
from bot.actions.catalog import CATALOG
from bot.actions.guard_chain import Person
from bot.actions.lifecycle import RUNNING, RequestState
from bot.actions.models import ActionRequest
from bot.actions.moves import AuditStep, Moved, Say, move
from bot.actions.port import action_backend
from bot.actions.store import current_lock
from bot.audit import vocabulary as v
from bot.db.unit_of_work import writing
from bot.outbox import Message
from bot.runtime import Runtime
from integrations.fleet.errors import FleetError
from integrations.fleet.models import Operation

log = logging.getLogger(__name__)
# The fleet's clock and ours may disagree a little; an operation this much older than
# the claim still counts as the claim's.
CLOCK_SKEW = timedelta(minutes=5)


def _ours(row: ActionRequest, op: Operation) -> bool:
    spec = CATALOG[row.action]
    return (
        op.action == spec.fleet_action
        and op.params == json.loads(row.params)
        and op.actor == row.requester_id
        and row.claimed_at is not None
        and op.created_at >= row.claimed_at - CLOCK_SKEW
    )


async def _taken(rt: Runtime, row: ActionRequest, ops: list[Operation]) -> set[str]:
    ids = [op.id for op in ops]
    if not ids:
        return set()
    async with rt.sessions() as session:
        found = await session.scalars(
            select(ActionRequest.operation_id).where(
                ActionRequest.operation_id.in_(ids), ActionRequest.id != row.id
            )
        )
        return {i for i in found if i}


async def reconcile(rt: Runtime, row: ActionRequest) -> None:
    now = rt.clock()
    grace = timedelta(seconds=rt.config.policies.reconcile_after_seconds)
    overdue = row.claimed_at is None or row.claimed_at <= now - grace
    if row.state == RequestState.EXECUTING and row.operation_id is None and not overdue:
        return  # a replica is between its claim and the fleet's answer; leave it be
    requester = Person(row.requester_id, row.requester_name)
    try:
        ops = await action_backend(rt.fleet, row.target).list_operations(service=row.target)
    except FleetError as exc:
        log.warning("cannot reconcile request %s: %s", row.id, exc)
        await _still_unknown(rt, row, requester, str(exc))
        return
    taken = await _taken(rt, row, ops)
    mine = sorted(
        (op for op in ops if _ours(row, op) and op.id not in taken), key=lambda o: o.created_at
    )
    if row.operation_id is not None:  # it had started: only that operation is ours
        mine = [op for op in mine if op.id == row.operation_id]
    if mine:
        await _adopt(rt, row, requester, mine[0])
    elif overdue:
        await _never_ran(rt, row, requester)


async def _adopt(rt: Runtime, row: ActionRequest, requester: Person, op: Operation) -> None:
    def said(moved: Moved) -> Say:
        return Say(thread=Message(text=m.reconciled_found(op.id, moved.seq)))

    async with writing(rt.sessions) as session:
        await move(
            session,
            rt,
            row,
            to=RequestState.EXECUTING,
            expect=RUNNING,
            facts={"operation_id": op.id, "detail": None},
            audit=AuditStep(
                requester,
                v.OPERATION_RECONCILED,
                v.ACCEPTED,
                ref=op.id,
                extra={"request": row.id, "operation": op.id, "was": row.state},
            ),
            say=said,
        )
    rt.wake_outbox()


async def _never_ran(rt: Runtime, row: ActionRequest, requester: Person) -> None:
    detail = m.RECONCILED_MISSING if row.operation_id is None else m.OPERATION_VANISHED

    def said(moved: Moved) -> Say:
        if row.operation_id is None:
            text = m.reconciled_missing(moved.seq)
        else:
            text = m.operation_vanished(row.operation_id, moved.seq)
        return Say(thread=Message(text=text), card=text)

    async with writing(rt.sessions) as session:
        await move(
            session,
            rt,
            row,
            to=RequestState.FAILED,
            expect=RUNNING,
            facts={"finished_at": rt.clock(), "detail": detail},
            audit=AuditStep(requester, v.OPERATION_RECONCILED, v.FAILED, extra={"was": row.state}),
            say=said,
        )
    rt.wake_outbox()


async def lost_contact(rt: Runtime, row: ActionRequest, error: str) -> None:
    """The fleet stopped answering about a running operation: `unknown`, said once."""
    await _still_unknown(rt, row, Person(row.requester_id, row.requester_name), error)


async def _still_unknown(rt: Runtime, row: ActionRequest, requester: Person, error: str) -> None:
    if row.state != RequestState.EXECUTING:
        return  # already `unknown`: said once in the thread, not again on every pass
    async with writing(rt.sessions) as session:
        moved = await move(
            session,
            rt,
            row,
            to=RequestState.UNKNOWN,
            expect=(RequestState.EXECUTING,),
            facts={"detail": error},
            audit=AuditStep(
                requester,
                v.OPERATION_RECONCILED,
                v.UNKNOWN,
                extra={"error": error, "operation": row.operation_id},
            ),
        )
        if not moved:
            return
        if row.operation_id is None:
            text = m.reconcile_unknown(error, moved.seq)
        else:
            # Not renewed while unknown: the lease lapses by itself if the fleet stays away.
            # The lease is read after the move, so this message is queued here, not as a Say.
            lock = await current_lock(session, row.target)
            until = lock.expires_at if lock is not None and lock.request_id == row.id else None
            text = m.lost_contact(row.operation_id, error, until, moved.seq)
        await notify.in_thread(session, rt, row, Message(text=text))
    rt.wake_outbox()
