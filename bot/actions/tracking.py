"""Following operations to their end: progress in the thread, the post-check, the result.

`track_once` runs on the scheduler leader every `policies.tracking_interval_seconds`
(`schedule_action_jobs`), and once at start on every replica (`reconcile_at_start`).
Finishing is a conditional UPDATE `executing → succeeded|failed|cancelled` written in the
same transaction as the result message and the audit rows, so two replicas that both see
the end post one result.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

from bot import messages as m
from bot.actions import action_blocks, rollback
from bot.actions.action_blocks import Preview
from bot.actions.guard_chain import Person
from bot.actions.journal import observe_duration
from bot.actions.lifecycle import PENDING, RUNNING, RequestState
from bot.actions.models import ActionRequest
from bot.actions.moves import AuditStep, Moved, Say, expired_say, move
from bot.actions.port import ResumableFleet, action_backend
from bot.actions.postcheck import Check, passed, post_check
from bot.actions.reconcile import lost_contact, reconcile
from bot.actions.resume import resume
from bot.actions.store import renew_lock, requests_in
from bot.audit import vocabulary as v
from bot.block_kit import slack_date
from bot.db.unit_of_work import writing
from bot.fleet.snapshot import read_at, snapshot_of, state_line, unreadable
from bot.log_context import bound
from bot.permissions.roles import known_people
from bot.runtime import Runtime
from integrations.fleet.errors import FleetError, OperationNotFound
from integrations.fleet.models import Operation

log = logging.getLogger(__name__)
POST_CHECK_TRIES = 3
POST_CHECK_PAUSE = 1.0
OUTCOMES = {
    RequestState.SUCCEEDED: v.SUCCEEDED,
    RequestState.FAILED: v.FAILED,
    RequestState.CANCELLED: v.CANCELLED,
}


def _digest(op: Operation) -> str:
    # Quarter steps: enough to see it move, few enough edits for Slack's pace.
    steps = ",".join(f"{s.state}:{round(s.progress * 4)}" for s in op.steps)
    return hashlib.sha256(f"{op.state}|{steps}".encode()).hexdigest()[:32]


async def track_once(rt: Runtime) -> int:
    """One pass over every running request; returns how many it finished."""
    async with rt.sessions() as session:
        rows = await requests_in(session, RUNNING)
    finished = 0
    for row in rows:
        try:
            with bound(action_id=row.id, operation_id=row.operation_id):
                finished += await _track(rt, row)
        except Exception:  # one bad request must not stop the others being tracked
            log.exception("tracking request %s failed", row.id)
    return finished


async def _track(rt: Runtime, row: ActionRequest) -> int:
    if row.operation_id is None or row.state == RequestState.UNKNOWN:
        await reconcile(rt, row)
        return 0
    try:
        op = await _read_operation(rt, row, row.operation_id)
    except FleetError as exc:
        log.warning("cannot read operation %s: %s", row.operation_id, exc)
        await lost_contact(rt, row, str(exc))
        return 0
    if not op.finished:
        await _progress(rt, row, op)
        return 0
    return await finish(rt, row, op)


async def _read_operation(rt: Runtime, row: ActionRequest, operation_id: str) -> Operation:
    backend = action_backend(rt.fleet, row.target)
    try:
        return await backend.get_operation(operation_id)
    except OperationNotFound:
        # A backend that forgets on restart watches it again (bot/actions/resume.py).
        if not isinstance(backend, ResumableFleet):
            raise
        op = await resume(rt, row, backend)
        if op is None:
            raise
        return op


async def _progress(rt: Runtime, row: ActionRequest, op: Operation) -> None:
    digest = _digest(op)
    until = rt.clock() + timedelta(minutes=rt.config.policies.lock_ttl_minutes)
    async with writing(rt.sessions) as session:
        # A running operation keeps its target's lease alive, however long it takes.
        await renew_lock(session, row.target, row.id, until)
        if digest != row.progress:
            await move(
                session,
                rt,
                row,
                to=RequestState.EXECUTING,
                expect=(RequestState.EXECUTING,),
                facts={"progress": digest},
                say=Say(progress=action_blocks.progress(row, op)),
            )
    rt.wake_outbox()


async def _checks(rt: Runtime, row: ActionRequest) -> tuple[list[Check], dict[str, Any]]:
    """The post-check, tried a few times: a cluster may take a moment to show its new state;
    and the service as last read, for the final card."""
    preview = Preview.load(row.plan)
    backend = action_backend(rt.fleet, row.target)
    floor = rt.config.policies.min_healthy_members
    checks: list[Check] = []
    view: dict[str, Any] = {}
    for attempt in range(POST_CHECK_TRIES):
        try:
            service = await backend.get_service(row.target)
        except FleetError as exc:
            checks = [(m.check_unreadable(str(exc)), False)]
            view = unreadable(type(exc).__name__, rt.clock())
        else:
            checks = post_check(preview, service, floor)
            view = snapshot_of(service, rt.clock())
        if passed(checks) or attempt + 1 == POST_CHECK_TRIES:
            return checks, view
        await asyncio.sleep(POST_CHECK_PAUSE)
    return checks, view


async def _final_view(rt: Runtime, row: ActionRequest) -> dict[str, Any]:
    """The service as it is when an operation ended without a post-check."""
    try:
        service = await action_backend(rt.fleet, row.target).get_service(row.target)
    except FleetError as exc:
        return unreadable(type(exc).__name__, rt.clock())
    return snapshot_of(service, rt.clock())


def fleet_at_end(view: dict[str, Any]) -> str:
    """The final card's line: the fleet's state then, labelled with when it was read."""
    at = read_at(json.dumps(view))
    return m.fleet_at_end(slack_date(at) if at else "?", state_line(json.dumps(view)))


async def finish(rt: Runtime, row: ActionRequest, op: Operation) -> int:
    ended = RequestState(op.state)
    if ended == RequestState.SUCCEEDED:
        checks, view = await _checks(rt, row)
    else:
        checks, view = [], await _final_view(rt, row)
    text = m.operation_result(
        op.id,
        row.action,
        row.target,
        op.state,
        op.error,
        op.cancelled_by,
        passed(checks) if checks else None,
    )

    # A finished action whose post-check failed: the thread offers what undoes it.
    undo = rollback.offer(row) if checks and not passed(checks) else None

    def said(moved: Moved) -> Say:
        seqs = [audit.seq for audit in moved.audits]
        return Say(
            progress=action_blocks.progress(row, op),
            thread=action_blocks.result(text, checks, seqs, undo),
            card=f"{text}\n{fleet_at_end(view)}",
        )

    async with writing(rt.sessions) as session:
        if not await move(
            session,
            rt,
            row,
            to=ended,
            expect=(RequestState.EXECUTING,),
            facts={"finished_at": rt.clock(), "detail": op.error or _failed_checks(checks)},
            audit=_finished_rows(row, op, checks),
            say=said,
        ):
            return 0
        observe_duration(rt, row, ended)
    rt.wake_outbox()
    return 1


def _failed_checks(checks: list[Check]) -> str | None:
    """The request's detail when the operation succeeded and its post-check did not (a
    campaign counts that target as failed: docs/campaigns.md)."""
    if not checks or passed(checks):
        return None
    return m.post_check_failed([name for name, ok in checks if not ok])


def _finished_rows(row: ActionRequest, op: Operation, checks: list[Check]) -> list[AuditStep]:
    """The operation's end, and its post-check when there was one."""
    requester = Person(row.requester_id, row.requester_name)
    rows = [
        AuditStep(
            requester,
            v.OPERATION_FINISHED,
            OUTCOMES[RequestState(op.state)],
            ref=op.id,
            extra={"request": row.id, "error": op.error, "cancelled_by": op.cancelled_by},
        )
    ]
    if checks:
        rows.append(
            AuditStep(
                requester,
                v.POST_CHECK,
                v.SUCCEEDED if passed(checks) else v.FAILED,
                ref=op.id,
                extra={"checks": [[c, ok] for c, ok in checks]},
                lock_fact=False,
            )
        )
    return rows


async def expire_stale(rt: Runtime) -> int:
    """Requests nobody confirmed or approved in time lapse, and their locks go with them."""
    now = rt.clock()
    async with rt.sessions() as session:
        rows = [
            r for r in await requests_in(session, PENDING) if r.expires_at and r.expires_at <= now
        ]
    for row in rows:
        async with writing(rt.sessions) as session:
            await move(
                session,
                rt,
                row,
                to=RequestState.EXPIRED,
                expect=(row.state,),
                facts={"detail": m.ACTION_REQUEST_EXPIRED},
                audit=AuditStep(
                    Person(row.requester_id, row.requester_name),
                    v.ACTION_EXPIRED,
                    v.EXPIRED,
                    extra={"was": row.state},
                ),
                say=expired_say(row),
            )
    rt.wake_outbox()
    if any(r.card_posted for r in rows):
        # A lapsed approval leaves the App Home of everyone who could have decided it.
        rt.homes_changed(known_people(rt.config))
    return len(rows)


async def reconcile_at_start(rt: Runtime) -> None:
    """At start, on every replica: requests left running are looked up, never re-run."""
    try:
        await track_once(rt)
    except Exception:  # the fleet or database may be down at start; the job retries later
        log.exception("start-up reconciliation of actions failed")
