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
import logging
from datetime import timedelta

from bot import messages as m
from bot.actions import action_blocks, notify
from bot.actions.action_blocks import Preview
from bot.actions.guard_chain import Person
from bot.actions.journal import observe_duration, record
from bot.actions.models import PENDING, ActionRequest
from bot.actions.port import action_backend
from bot.actions.postcheck import Check, passed, post_check
from bot.actions.reconcile import lost_contact, reconcile
from bot.actions.store import release_lock, renew_lock, requests_in, transition
from bot.audit import vocabulary as v
from bot.db.unit_of_work import writing
from bot.runtime import Runtime
from integrations.fleet.errors import FleetError
from integrations.fleet.models import Operation

log = logging.getLogger(__name__)
POST_CHECK_TRIES = 3
POST_CHECK_PAUSE = 1.0
OUTCOMES = {"succeeded": v.SUCCEEDED, "failed": v.FAILED, "cancelled": v.CANCELLED}


def _digest(op: Operation) -> str:
    # Quarter steps: enough to see it move, few enough edits for Slack's pace.
    steps = ",".join(f"{s.state}:{round(s.progress * 4)}" for s in op.steps)
    return hashlib.sha256(f"{op.state}|{steps}".encode()).hexdigest()[:32]


async def track_once(rt: Runtime) -> int:
    """One pass over every running request; returns how many it finished."""
    async with rt.sessions() as session:
        rows = await requests_in(session, ("executing", "unknown"))
    finished = 0
    for row in rows:
        try:
            finished += await _track(rt, row)
        except Exception:  # one bad request must not stop the others being tracked
            log.exception("tracking request %s failed", row.id)
    return finished


async def _track(rt: Runtime, row: ActionRequest) -> int:
    if row.operation_id is None or row.state == "unknown":
        await reconcile(rt, row)
        return 0
    backend = action_backend(rt.fleet, row.target)
    try:
        op = await backend.get_operation(row.operation_id)
    except FleetError as exc:
        log.warning("cannot read operation %s: %s", row.operation_id, exc)
        await lost_contact(rt, row, str(exc))
        return 0
    if not op.finished:
        await _progress(rt, row, op)
        return 0
    return await finish(rt, row, op)


async def _progress(rt: Runtime, row: ActionRequest, op: Operation) -> None:
    digest = _digest(op)
    until = rt.clock() + timedelta(minutes=rt.config.policies.lock_ttl_minutes)
    async with writing(rt.sessions) as session:
        # A running operation keeps its target's lease alive, however long it takes.
        await renew_lock(session, row.target, row.id, until)
        if digest != row.progress and await transition(
            session, row.id, ("executing",), "executing", rt.clock(), progress=digest
        ):
            await notify.update_progress(session, rt, row, action_blocks.progress(row, op))
    rt.wake_outbox()


async def _checks(rt: Runtime, row: ActionRequest) -> list[Check]:
    """The post-check, tried a few times: a cluster may take a moment to show its new state."""
    preview = Preview.load(row.plan)
    backend = action_backend(rt.fleet, row.target)
    floor = rt.config.policies.min_healthy_members
    checks: list[Check] = []
    for attempt in range(POST_CHECK_TRIES):
        try:
            service = await backend.get_service(row.target)
        except FleetError as exc:
            checks = [(m.check_unreadable(str(exc)), False)]
        else:
            checks = post_check(preview, service, floor)
        if passed(checks) or attempt + 1 == POST_CHECK_TRIES:
            return checks
        await asyncio.sleep(POST_CHECK_PAUSE)
    return checks


async def finish(rt: Runtime, row: ActionRequest, op: Operation) -> int:
    checks = await _checks(rt, row) if op.state == "succeeded" else []
    requester = Person(row.requester_id, row.requester_name)
    async with writing(rt.sessions) as session:
        if not await transition(
            session,
            row.id,
            ("executing",),
            op.state,
            rt.clock(),
            finished_at=rt.clock(),
            detail=op.error,
        ):
            return 0
        observe_duration(rt, row, op.state)
        released = await release_lock(session, row.target, row.id)
        seqs = [
            (
                await record(
                    session,
                    rt,
                    actor=requester,
                    action=v.OPERATION_FINISHED,
                    row=row,
                    outcome=OUTCOMES[op.state],
                    ref=op.id,
                    extra={
                        "request": row.id,
                        "error": op.error,
                        "cancelled_by": op.cancelled_by,
                        "lock_released": released,
                    },
                )
            ).seq
        ]
        if checks:
            seqs.append(
                (
                    await record(
                        session,
                        rt,
                        actor=requester,
                        action=v.POST_CHECK,
                        row=row,
                        outcome=v.SUCCEEDED if passed(checks) else v.FAILED,
                        ref=op.id,
                        extra={"checks": [[c, ok] for c, ok in checks]},
                    )
                ).seq
            )
        text = m.operation_result(
            op.id,
            row.action,
            row.target,
            op.state,
            op.error,
            op.cancelled_by,
            passed(checks) if checks else None,
        )
        await notify.update_progress(session, rt, row, action_blocks.progress(row, op))
        await notify.in_thread(session, rt, row, action_blocks.result(text, checks, seqs))
        row.state = op.state
        await notify.update_card(session, rt, row, action_blocks.card(row, text))
    rt.wake_outbox()
    return 1


async def expire_stale(rt: Runtime) -> int:
    """Requests nobody confirmed or approved in time lapse, and their locks go with them."""
    now = rt.clock()
    async with rt.sessions() as session:
        rows = [
            r for r in await requests_in(session, PENDING) if r.expires_at and r.expires_at <= now
        ]
    for row in rows:
        async with writing(rt.sessions) as session:
            if not await transition(
                session, row.id, (row.state,), "expired", now, detail=m.ACTION_REQUEST_EXPIRED
            ):
                continue
            released = await release_lock(session, row.target, row.id)
            await record(
                session,
                rt,
                actor=Person(row.requester_id, row.requester_name),
                action=v.ACTION_EXPIRED,
                row=row,
                outcome=v.EXPIRED,
                extra={"was": row.state, "lock_released": released},
            )
            if row.card_posted:
                row.state = "expired"
                await notify.update_card(
                    session, rt, row, action_blocks.card(row, m.ACTION_REQUEST_EXPIRED)
                )
    rt.wake_outbox()
    return len(rows)


async def reconcile_at_start(rt: Runtime) -> None:
    """At start, on every replica: requests left running are looked up, never re-run."""
    try:
        await track_once(rt)
    except Exception:  # the fleet or database may be down at start; the job retries later
        log.exception("start-up reconciliation of actions failed")
