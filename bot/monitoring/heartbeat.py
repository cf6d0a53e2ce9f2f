"""The periodic heartbeat check, on every replica: problems announced once, recoveries once.

Every replica runs it, not only the scheduler's leader: "no leader" must be reported by
someone, and that is precisely when the leader's jobs do not run. Announcing once is
decided in the database instead: raising a problem inserts (or re-opens) its row in
`health_alerts`, recovering closes it, each by a conditional write that only one replica
wins, and the winner writes the ops-channel message (through the outbox) in the same
transaction.

PagerDuty (Events API v2) is told afterwards, outside any transaction, by whichever
replica checks next, until it accepted (`health_alerts.pagerduty` records what it last
accepted). Every event carries the dedup key `watchkeeper:<problem>`, so two replicas
sending the same trigger open one alert. When the database itself is down nothing can
be recorded: each replica that sees it triggers the `database` alert directly and
resolves it when the database answers again; the dedup key collapses the duplicates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages
from bot.db.unit_of_work import writing
from bot.monitoring.findings import Problem
from bot.monitoring.health import DATABASE, Health, assess
from bot.monitoring.models import PD_NONE, PD_RESOLVED, PD_TRIGGERED, HealthAlert, IntakeSource
from bot.outbox import Message, post
from bot.runtime import Runtime
from integrations.pagerduty import PagerDutyError, PagerDutyEvents

log = logging.getLogger(__name__)

DEDUP_PREFIX = "watchkeeper:"


class HealthMonitor:
    def __init__(
        self,
        rt: Runtime,
        *,
        owner: str,
        leader: Callable[[], bool] = lambda: False,
        pagerduty_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._rt = rt
        self._owner = owner
        self._leader = leader
        self._transport = pagerduty_transport
        # What "never recorded" counts from: a lease never taken, a source never heard.
        self.since = rt.started_at
        self.last: Health | None = None
        self._database_paged = False

    async def run_forever(self) -> None:
        while True:
            try:
                await self.check_once()
            except Exception:  # the watcher must outlive what it watches
                log.exception("heartbeat check failed")
            await asyncio.sleep(self._rt.config.monitoring.check_seconds)

    async def check_once(self) -> Health:
        rt = self._rt
        health = await assess(rt, self.since)
        self.last = health
        rt.metrics.show(health.snapshot, health.problems, self._leader())
        if health.snapshot is None:
            await self._page_database_down(health.problems[0])
            return health
        if self._database_paged:
            self._database_paged = not await self._tell_pagerduty(DATABASE, PD_RESOLVED, "")
        await self._seed_expected_sources()
        now = rt.clock()
        for problem in health.problems:
            await self._raise(problem, now)
        current = {p.key for p in health.problems}
        async with rt.sessions() as session:
            open_keys = list(
                await session.scalars(
                    select(HealthAlert.key).where(HealthAlert.resolved_at.is_(None))
                )
            )
        for key in open_keys:
            if key not in current:
                await self._recover(key, now)
        rt.wake_outbox()
        await self._sync_pagerduty()
        return health

    # -- announcing, once -----------------------------------------------------------------

    def _announce(self, session: AsyncSession, text: str) -> None:
        channel = self._rt.config.channels.ops
        if channel:
            post(session, channel=channel, message=Message(text=text), clock=self._rt.clock)

    async def _raise(self, problem: Problem, now: datetime) -> None:
        try:
            async with writing(self._rt.sessions) as session:
                row = await session.get(HealthAlert, problem.key)
                if row is None:
                    session.add(
                        HealthAlert(
                            key=problem.key, detail=problem.detail[:500], raised_at=now,
                            resolved_at=None, pagerduty=PD_NONE,
                        )
                    )  # fmt: skip
                    await session.flush()  # another replica's row first: IntegrityError
                elif row.resolved_at is None:
                    return
                else:
                    reopened = await session.execute(
                        update(HealthAlert)
                        .where(HealthAlert.key == problem.key, HealthAlert.resolved_at.is_not(None))
                        .values(resolved_at=None, raised_at=now, detail=problem.detail[:500])
                    )
                    if reopened.rowcount != 1:  # type: ignore[attr-defined]
                        return
                self._announce(session, messages.health_problem(problem.detail))
        except IntegrityError:
            return
        log.warning("health problem raised: %s", problem.detail)

    async def _recover(self, key: str, now: datetime) -> None:
        async with writing(self._rt.sessions) as session:
            row = await session.get(HealthAlert, key)
            closed = await session.execute(
                update(HealthAlert)
                .where(HealthAlert.key == key, HealthAlert.resolved_at.is_(None))
                .values(resolved_at=now)
            )
            if row is None or closed.rowcount != 1:  # type: ignore[attr-defined]
                return
            self._announce(session, messages.health_recovered(row.detail))
        log.info("health problem recovered: %s", key)

    async def _seed_expected_sources(self) -> None:
        """A row per expected source, so silence counts from one shared moment."""
        expected = self._rt.config.monitoring.expected_sources
        if not expected:
            return
        async with self._rt.sessions() as session:
            known = set(
                await session.scalars(
                    select(IntakeSource.source).where(IntakeSource.source.in_(list(expected)))
                )
            )
        for source in expected:
            if source in known:
                continue
            try:
                async with writing(self._rt.sessions) as session:
                    session.add(IntakeSource(source=source, last_delivery_at=self.since))
            except IntegrityError:
                pass  # another replica seeded it

    # -- PagerDuty --------------------------------------------------------------------------

    async def _sync_pagerduty(self) -> None:
        if not self._rt.config.monitoring.pagerduty.enabled:
            return
        # Open and not yet triggered, or closed and still triggered.
        is_open, triggered = (
            HealthAlert.resolved_at.is_(None),
            HealthAlert.pagerduty == PD_TRIGGERED,
        )
        async with self._rt.sessions() as session:
            due = list(
                await session.scalars(
                    select(HealthAlert).where(or_(is_open & ~triggered, ~is_open & triggered))
                )
            )
        for row in due:
            action = PD_TRIGGERED if row.resolved_at is None else PD_RESOLVED
            if not await self._tell_pagerduty(row.key, action, row.detail):
                continue
            async with writing(self._rt.sessions) as session:
                still = (
                    HealthAlert.resolved_at.is_(None)
                    if action == PD_TRIGGERED
                    else HealthAlert.resolved_at.is_not(None)
                )
                await session.execute(
                    update(HealthAlert)
                    .where(HealthAlert.key == row.key, still)
                    .values(pagerduty=action)
                )

    async def _page_database_down(self, problem: Problem) -> None:
        if await self._tell_pagerduty(DATABASE, PD_TRIGGERED, problem.detail):
            self._database_paged = True

    async def _tell_pagerduty(self, key: str, action: str, detail: str) -> bool:
        """Send one event; True when PagerDuty accepted it (or nothing is configured)."""
        cfg = self._rt.config.monitoring.pagerduty
        if not cfg.enabled or cfg.routing_key is None:
            return action == PD_RESOLVED
        events = PagerDutyEvents(
            cfg.routing_key, base_url=str(cfg.events_url), transport=self._transport
        )
        try:
            if action == PD_TRIGGERED:
                await events.trigger(
                    DEDUP_PREFIX + key,
                    messages.health_page_summary(detail),
                    "critical",
                    self._owner,
                    custom_details={"problem": key, "detail": detail},
                )
            else:
                await events.resolve(DEDUP_PREFIX + key)
        except PagerDutyError as exc:
            log.warning("PagerDuty did not take the %s of %s: %s", action, key, exc)
            return False
        finally:
            await events.aclose()
        return True
