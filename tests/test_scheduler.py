"""One leader among replicas runs the scheduled jobs; when it dies another takes over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
