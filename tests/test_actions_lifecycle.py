"""The request lifecycle: one table of moves, and `move`, the one step that makes them
(exactly once: the loser of a race changes nothing)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.actions.assess import Assessment
from bot.actions.flow import deny_request
from bot.actions.guard_chain import ChainResult, Decision, GuardContext, Person, deny
from bot.actions.lifecycle import (
    FINISHED,
    MOVES,
    PENDING,
    RUNNING,
    IllegalMove,
    RequestState,
    check_move,
)
from bot.actions.models import ActionRequest, ResourceLock
from bot.actions.moves import AuditStep, Say, move
from bot.audit.models import AuditEntry
from bot.config import parse_config
from bot.db.engine import session_factory
from bot.db.models import OutboxMessage
from bot.db.unit_of_work import writing
from bot.fleet import FleetRouter
from bot.interactions import InteractionRegistry
from bot.outbox import Message
from bot.registry import CommandRegistry
from bot.runtime import Runtime
from bot.scheduler import Scheduler
from tests.conftest import base_config

S = RequestState
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

# Every move the flow makes, and the step that makes it (bot/actions/*).
FLOW_MOVES = {
    (S.REQUESTED, S.PREVIEWED),  # needs the requester's confirmation (asking.preview)
    (S.REQUESTED, S.CONFIRMED),  # approval card posted at submit (asking.await_approval)
    (S.PREVIEWED, S.CONFIRMED),  # the Confirm click; or the card posted after it
    (S.CONFIRMED, S.CONFIRMED),  # the approval card posted after the Confirm click
    (S.REQUESTED, S.APPROVED),  # nothing to ask anyone (flow.advance)
    (S.CONFIRMED, S.APPROVED),  # confirmed and approved enough (flow.advance)
    (S.APPROVED, S.EXECUTING),  # the execution claim (execute.execute)
    (S.EXECUTING, S.EXECUTING),  # operation id recorded; progress recorded
    (S.UNKNOWN, S.EXECUTING),  # a late answer, or the operation found again (reconcile)
    (S.EXECUTING, S.UNKNOWN),  # no clear answer from the start, or contact lost
    (S.EXECUTING, S.SUCCEEDED),  # the fleet says so (tracking.finish)
    (S.EXECUTING, S.FAILED),  # start refused; fleet failed it; never ran
    (S.EXECUTING, S.CANCELLED),  # cancelled on the fleet
    (S.UNKNOWN, S.FAILED),  # reconciled: it never ran, or the fleet lost it
    # Before running: denied by the chain, cancelled, lapsed.
    *((state, end) for state in PENDING for end in (S.DENIED, S.CANCELLED, S.EXPIRED)),
}


def test_the_table_is_exactly_the_moves_the_flow_makes() -> None:
    assert {(a, b) for a, targets in MOVES.items() for b in targets} == FLOW_MOVES
    assert set(MOVES) == set(RequestState)


def test_a_move_that_is_not_in_the_table_is_refused() -> None:
    with pytest.raises(IllegalMove):
        check_move((S.SUCCEEDED,), S.EXECUTING)
    with pytest.raises(IllegalMove):  # one bad from-state spoils the move
        check_move((S.EXECUTING, S.SUCCEEDED), S.FAILED)
    with pytest.raises(IllegalMove):
        check_move((), S.FAILED)
    assert check_move((S.EXECUTING, S.UNKNOWN), S.FAILED) == (S.EXECUTING, S.UNKNOWN)


def test_every_state_is_reachable_from_requested() -> None:
    seen, frontier = {S.REQUESTED}, [S.REQUESTED]
    while frontier:
        for nxt in MOVES[frontier.pop()] - seen:
            seen.add(nxt)
            frontier.append(nxt)
    assert seen == set(RequestState)


def test_finished_states_have_no_way_out() -> None:
    for state in FINISHED:
        assert MOVES[state] == frozenset(), state
    # and everything else can still end
    for state in PENDING | RUNNING:
        assert MOVES[state] & FINISHED, state


def test_the_groups_split_the_states() -> None:
    assert set(RequestState) == PENDING | RUNNING | FINISHED
    assert len(PENDING) + len(RUNNING) + len(FINISHED) == len(RequestState)
    assert S.EXECUTING == "executing" and f"{S.UNKNOWN}" == "unknown"  # stored as before


def runtime(engine: AsyncEngine, db_url: str) -> Runtime:
    config = parse_config(base_config(storage={"url": db_url}), {})
    sessions = session_factory(engine)
    return Runtime(
        config=config,
        engine=engine,
        sessions=sessions,
        fleet=FleetRouter([]),
        commands=CommandRegistry(),
        buttons=InteractionRegistry(),
        scheduler=Scheduler(sessions, owner="test"),
        wake_outbox=lambda: None,
        slack_direct=None,
        started_at=NOW,
        clock=lambda: NOW,
    )


def request(state: RequestState) -> ActionRequest:
    return ActionRequest(
        id="req1", idempotency_key="k1", params_hash="0" * 64, action="restart",
        target="pg-orders", params=json.dumps({}), reason=None, requester_id="UALICE01",
        requester_name="alice", channel_id="C0DEMO001", thread_ts=None, state=state,
        risk="low", created_at=NOW, updated_at=NOW,
    )  # fmt: skip


async def seed(rt: Runtime, state: RequestState) -> None:
    async with writing(rt.sessions) as session:
        session.add(request(state))
        session.add(
            ResourceLock(
                resource="pg-orders", request_id="req1", owner_id="UALICE01",
                owner_name="alice", action="restart", since=NOW,
                expires_at=NOW + timedelta(minutes=10),
            )
        )  # fmt: skip


async def stored_state(rt: Runtime) -> RequestState:
    async with rt.sessions() as session:
        state = await session.scalar(select(ActionRequest.state))
    assert isinstance(state, RequestState)
    return state


async def test_the_loser_of_two_concurrent_moves_changes_nothing(
    engine: AsyncEngine, db_url: str
) -> None:
    rt = runtime(engine, db_url)
    await seed(rt, S.REQUESTED)

    async def second() -> bool:
        async with writing(rt.sessions) as session:
            moved = await move(session, rt, "req1", to=S.APPROVED, expect=(S.REQUESTED,))
            return moved.won

    async with writing(rt.sessions) as session:
        first = await move(session, rt, "req1", to=S.PREVIEWED, expect=(S.REQUESTED,))
        # The other replica's move starts while the first is uncommitted: it waits on the
        # row (PostgreSQL) or the write lock (SQLite), then finds the state moved on.
        other = asyncio.create_task(second())
        await asyncio.sleep(0.3)  # a lock wait shows only as time passing
        assert not other.done()
    assert first.won is True
    assert await other is False
    assert await stored_state(rt) == S.PREVIEWED


async def test_a_move_out_of_the_table_writes_nothing(engine: AsyncEngine, db_url: str) -> None:
    rt = runtime(engine, db_url)
    await seed(rt, S.SUCCEEDED)
    with pytest.raises(IllegalMove):
        async with writing(rt.sessions) as session:
            await move(session, rt, "req1", to=S.EXECUTING, expect=(S.SUCCEEDED,))
    assert await stored_state(rt) == S.SUCCEEDED


async def test_a_finishing_move_releases_the_lease_audits_and_tells_once(
    engine: AsyncEngine, db_url: str
) -> None:
    rt = runtime(engine, db_url)
    await seed(rt, S.EXECUTING)
    alice = Person("UALICE01", "alice")
    results = []
    for _ in range(2):  # the same move again (a retry, the other replica) does nothing
        async with writing(rt.sessions) as session:
            row = await session.scalar(select(ActionRequest))
            assert row is not None
            moved = await move(
                session, rt, row, to=S.FAILED, expect=(S.EXECUTING,),
                facts={"detail": "refused", "finished_at": NOW},
                audit=AuditStep(alice, "operation.started", "failed", extra={"error": "x"}),
                say=Say(thread=Message(text="it failed")),
            )  # fmt: skip
            results.append((moved.won, moved.lock_released, row.state, row.detail))
    assert results == [(True, True, S.FAILED, "refused"), (False, False, S.FAILED, "refused")]
    async with rt.sessions() as session:
        audits = list(await session.scalars(select(AuditEntry.params)))
        assert await session.scalar(select(ResourceLock)) is None
        told = list(await session.scalars(select(OutboxMessage.payload)))
    assert [json.loads(p)["text"] for p in told] == ["it failed"]
    assert len(audits) == 1
    assert json.loads(audits[0])["lock_released"] is True
    assert json.loads(audits[0])["error"] == "x"
    assert await stored_state(rt) == S.FAILED


async def test_a_move_by_id_alone_cannot_audit_or_finish(engine: AsyncEngine, db_url: str) -> None:
    rt = runtime(engine, db_url)
    await seed(rt, S.EXECUTING)
    with pytest.raises(IllegalMove):
        async with writing(rt.sessions) as session:
            await move(session, rt, "req1", to=S.FAILED, expect=(S.EXECUTING,))
    assert await stored_state(rt) == S.EXECUTING


@pytest.mark.parametrize(("now_in", "lease_kept"), [(S.EXECUTING, True), (S.EXPIRED, False)])
async def test_a_denial_that_lost_its_move_leaves_a_running_lease_alone(
    engine: AsyncEngine, db_url: str, now_in: RequestState, lease_kept: bool
) -> None:
    # A refused approval click reads the request while it is still waiting; meanwhile
    # another approver's click wins and the action runs. The refusal's lost move must not
    # free the target for a second action; on a finished request the lease goes.
    rt = runtime(engine, db_url)
    await seed(rt, now_in)
    stale = request(S.CONFIRMED)
    refusal = ChainResult((Decision("approver", deny("not an approver")),))
    verdict = Assessment(result=refusal, ctx=cast(GuardContext, None))
    await deny_request(rt, stale, verdict, Person("UCAROL01", "carol"), "approve")
    async with rt.sessions() as session:
        lease = await session.scalar(select(ResourceLock))
    assert (lease is not None) is lease_kept
    assert await stored_state(rt) == now_in
