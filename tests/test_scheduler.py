"""One leader among replicas runs the scheduled jobs; when it dies another takes over."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import session_factory
from bot.scheduler import Scheduler, current_leader


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_only_the_leader_runs_jobs_and_a_successor_takes_over(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    clock = Clock()
    a = Scheduler(sessions, owner="replica-a", ttl_seconds=15, clock=clock)
    b = Scheduler(sessions, owner="replica-b", ttl_seconds=15, clock=clock)
    ran: list[str] = []

    async def job_of(name: str) -> None:
        ran.append(name)

    assert await a.renew() is True
    assert await b.renew() is False
    assert await a.run_if_leader("handoff", lambda: job_of("a")) is True
    assert await b.run_if_leader("handoff", lambda: job_of("b")) is False
    assert ran == ["a"]
    assert await current_leader(sessions, clock) == "replica-a"

    # replica-a dies: it stops renewing. Before the lease expires, b still waits.
    clock.now += timedelta(seconds=10)
    assert await b.renew() is False
    clock.now += timedelta(seconds=6)
    assert await b.renew() is True
    assert await b.run_if_leader("handoff", lambda: job_of("b")) is True
    assert ran == ["a", "b"]
    # a comes back: it finds the lease taken and stands down.
    assert await a.renew() is False
    assert await a.run_if_leader("handoff", lambda: job_of("a")) is False
    assert ran == ["a", "b"]


async def test_a_failing_job_does_not_stop_the_leader(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    leader = Scheduler(sessions, owner="replica-a")
    assert await leader.renew()

    async def broken() -> None:
        raise RuntimeError("boom")

    assert await leader.run_if_leader("broken", broken) is True
    assert leader.is_leader


async def test_run_now_runs_a_named_job_once_and_only_on_the_leader(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    ran: list[str] = []
    replicas = [Scheduler(sessions, owner=name) for name in ("replica-a", "replica-b")]
    for replica in replicas:

        async def handoff(owner: str = replica.owner) -> None:
            ran.append(owner)

        replica.every("handoff", 3600, handoff)
    leader, follower = replicas
    assert await leader.renew() and not await follower.renew()
    assert await leader.run_now("handoff") is True
    assert await follower.run_now("handoff") is False
    assert ran == ["replica-a"]
    with pytest.raises(KeyError):
        await leader.run_now("no-such-job")


async def test_next_run_waits_for_a_run_that_starts_after_it_is_called(
    engine: AsyncEngine,
) -> None:
    scheduler = Scheduler(session_factory(engine), owner="replica-a")
    began, release = asyncio.Event(), asyncio.Event()
    started: list[int] = []

    async def slow() -> None:
        started.append(len(started) + 1)
        began.set()
        await release.wait()

    scheduler.every("slow", 3600, slow)
    assert await scheduler.renew()
    under_way = asyncio.create_task(scheduler.run_now("slow"))
    await began.wait()
    waiting = asyncio.create_task(scheduler.next_run("slow", within=5))
    await asyncio.sleep(0)  # one turn of the loop: the waiter is registered
    release.set()
    await under_way
    assert not waiting.done()  # the run under way at the call does not count
    await scheduler.run_now("slow")
    await waiting
    assert started == [1, 2]
    with pytest.raises(TimeoutError):
        await scheduler.next_run("slow", within=0.05)


async def test_next_run_returns_after_the_schedulers_own_tick(engine: AsyncEngine) -> None:
    scheduler = Scheduler(session_factory(engine), owner="replica-a", renew_seconds=0.05)
    ticks: list[str] = []

    async def tick() -> None:
        ticks.append("tick")

    scheduler.every("tick", 0.05, tick)
    scheduler.start()
    try:
        await scheduler.next_run("tick", within=5)
        assert ticks
    finally:
        scheduler.shutdown()
        await scheduler.release()
