"""Scheduled jobs on APScheduler, run by one replica at a time.

Every replica runs an `AsyncIOScheduler`, but a job only does its work on the replica
that holds the leader lease (a row in `leader_lease` with owner and expiry). The leader
renews the lease every `renew_seconds`; when it dies, another replica takes the lease
once it has expired, so the jobs move within `ttl_seconds + renew_seconds`. A leader that
stops in order releases the lease, and the jobs move at the next renewal of another.

Jobs must still be idempotent (keyed on what they produce, e.g. one handoff per shift):
a leader that stalls past its lease can overlap briefly with its successor.

A run can be awaited (`next_run`) or made now (`run_now`): tests wait for the work a tick
does instead of sleeping past it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock, utcnow
from bot.db.models import LeaderLease
from bot.db.unit_of_work import writing

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[Any]]
LEASE_NAME = "scheduler"


async def take_lease(
    sessions: async_sessionmaker[AsyncSession], owner: str, ttl: float, clock: Clock = utcnow
) -> bool:
    """Take or renew the lease; True when `owner` holds it afterwards."""
    now = clock()
    expires = now + timedelta(seconds=ttl)
    async with writing(sessions) as session:
        taken = await session.execute(
            update(LeaderLease)
            .where(
                LeaderLease.name == LEASE_NAME,
                or_(LeaderLease.owner == owner, LeaderLease.expires_at < now),
            )
            .values(owner=owner, expires_at=expires)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return True
        if await session.get(LeaderLease, LEASE_NAME) is not None:
            return False
    try:
        async with writing(sessions) as session:
            session.add(LeaderLease(name=LEASE_NAME, owner=owner, expires_at=expires))
        return True
    except IntegrityError:
        return False


async def release_lease(
    sessions: async_sessionmaker[AsyncSession], owner: str, clock: Clock = utcnow
) -> bool:
    """Give the lease up now, if `owner` holds it: another replica takes it on its next renewal."""
    async with writing(sessions) as session:
        released = await session.execute(
            update(LeaderLease)
            .where(LeaderLease.name == LEASE_NAME, LeaderLease.owner == owner)
            .values(expires_at=clock())
        )
        return bool(released.rowcount)  # type: ignore[attr-defined]


async def current_leader(
    sessions: async_sessionmaker[AsyncSession], clock: Clock = utcnow
) -> str | None:
    async with sessions() as session:
        lease = await session.get(LeaderLease, LEASE_NAME)
        if lease is None or lease.expires_at < clock():
            return None
        return lease.owner


class Scheduler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        owner: str,
        ttl_seconds: float = 15.0,
        renew_seconds: float = 5.0,
        clock: Clock = utcnow,
    ) -> None:
        self._sessions = sessions
        self.owner = owner
        self._ttl = ttl_seconds
        self._renew = renew_seconds
        self._clock = clock
        self.is_leader = False
        self._stopped = False
        self._aps = AsyncIOScheduler(timezone="UTC")
        self._jobs: list[tuple[str, dict[str, Any], Job]] = []
        # Waiters for the next run of a job, served by the first run that starts after them.
        self._waiting: dict[str, list[asyncio.Future[None]]] = {}

    def every(self, name: str, seconds: float, job: Job) -> None:
        """Run `job` every `seconds` on the leader."""
        self._jobs.append((name, {"trigger": "interval", "seconds": seconds}, job))

    def cron(self, name: str, job: Job, **cron: Any) -> None:
        """Run `job` on the leader at cron times (`hour=`, `minute=`, `timezone=` ...)."""
        self._jobs.append((name, {"trigger": "cron", **cron}, job))

    async def renew(self) -> bool:
        if self._stopped:
            return False  # a renewal already queued must not take back a released lease
        try:
            held = await take_lease(self._sessions, self.owner, self._ttl, self._clock)
        except Exception:  # a database blip costs the lease, never the process
            log.exception("leader lease renewal failed")
            held = False
        if held != self.is_leader:
            log.info("%s %s the scheduler lease", self.owner, "took" if held else "lost")
        self.is_leader = held
        return held

    async def run_if_leader(self, name: str, job: Job) -> bool:
        """Run one job now when leader; a failing job is logged and tried next time."""
        if not self.is_leader:
            return False
        served = self._waiting.pop(name, [])
        try:
            await job()
        except Exception:
            log.exception("scheduled job %s failed", name)
        for waiter in served:
            if not waiter.done():
                waiter.set_result(None)
        return True

    async def run_now(self, name: str) -> bool:
        """Run the job named `name` once now, as its tick would (only on the leader), and
        return once it has finished; False when this replica is not the leader."""
        return await self.run_if_leader(name, self._job(name))

    async def next_run(self, name: str, within: float) -> None:
        """Return once a run of the job named `name` that starts after this call has
        finished (a failed run counts: it ended). Followers never run jobs, so only the
        leader's runs count. TimeoutError once `within` seconds have passed."""
        self._job(name)
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(name, []).append(waiter)
        try:
            await asyncio.wait_for(waiter, within)
        finally:
            if waiter in self._waiting.get(name, []):
                self._waiting[name].remove(waiter)

    def _job(self, name: str) -> Job:
        found = [job for job_name, _, job in self._jobs if job_name == name]
        if not found:
            raise KeyError(f"no scheduled job named {name!r}")
        return found[0]

    def start(self) -> None:
        self._aps.add_job(
            self.renew, "interval", seconds=self._renew, id="lease", next_run_time=self._clock()
        )
        for name, trigger, job in self._jobs:
            self._aps.add_job(
                self.run_if_leader,
                args=[name, job],
                id=name,
                name=name,  # APScheduler's log lines of each run name the job
                coalesce=True,  # after a stall, run once, not once per missed tick
                max_instances=1,
                misfire_grace_time=None,
                **trigger,
            )
        self._aps.start()

    def shutdown(self) -> None:
        self._stopped = True
        if self._aps.running:
            self._aps.shutdown(wait=False)

    async def release(self) -> None:
        """On an orderly stop, after `shutdown`: the next leader need not wait for expiry."""
        self._stopped = True
        self.is_leader = False
        try:
            if await release_lease(self._sessions, self.owner, self._clock):
                log.info("%s released the scheduler lease", self.owner)
        except Exception:  # the lease then expires on its own, as after a crash
            log.exception("releasing the scheduler lease failed")
