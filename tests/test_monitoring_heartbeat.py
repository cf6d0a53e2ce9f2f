"""The heartbeat: /status names each problem (/readyz only this replica's own); the ops
channel hears of a problem once and of its recovery once; PagerDuty is paged (and
resolved) even while Slack is down; a replica that is not the leader reports "no
leader", and two replicas announce it once."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update

from bot.asgi import create_asgi_app
from bot.composition import Bot, open_bot
from bot.config import parse_config
from bot.db.models import LeaderLease, OutboxMessage
from bot.scheduler import LEASE_NAME
from standins.pagerduty import start_standin as start_pagerduty
from tests.conftest import base_config
from tests.harness import BotHarness
from tests.intake_helpers import AM_TOKEN, bearer, captured, intake_section
from tests.monitoring_support import MovingClock, heartbeat, readyz_looks_every_time

OPS = "C0OPS0001"
PD_KEY = "pd-monitoring-routing-key-42"


@asynccontextmanager
async def replica(
    db_url: str, clock: MovingClock, owner: str, **monitoring: Any
) -> AsyncIterator[tuple[Bot, httpx.AsyncClient]]:
    """One replica's app in process, its scheduler not started (the test plays it)."""
    raw = base_config(
        storage={"url": db_url},
        intake=intake_section(),
        escalation={"after_minutes": 0},
        monitoring={"expected_sources": {"alertmanager": 10}, **monitoring},
    )
    raw["audit"]["checkpoint_file"] = None
    bot = await open_bot(
        parse_config(raw, {}),
        clock=clock,
        owner=owner,
        run_worker=False,
        customize=readyz_looks_every_time,
    )
    app = create_asgi_app(bot, manage_lifecycle=False)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wk")
    try:
        yield bot, client
    finally:
        await client.aclose()
        await bot.stop()


async def problems(client: httpx.AsyncClient, path: str = "/status") -> list[str]:
    answer = await client.get(path)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == ("degraded" if body["problems"] else "ok")
    return [p["problem"] for p in body["problems"]]


async def test_status_names_each_heartbeat_problem_and_readyz_stays_ready(db_url: str) -> None:
    clock = MovingClock()
    async with replica(db_url, clock, "replica-a") as (bot, client):
        await bot.runtime.scheduler.renew()
        assert await problems(client) == []

        # Eleven minutes without Alertmanager, which is expected every ten.
        clock.advance(11 * 60)
        await bot.runtime.scheduler.renew()
        assert await problems(client) == ["intake_silent:alertmanager"]
        # A load balancer asks only whether this replica can serve: it can, in either
        # spelling of the readiness probe.
        assert await problems(client, "/readyz") == []
        assert await problems(client, "/readyz?scope=replica") == []
        _, message = captured("firing-group")
        delivered = await client.post(
            "/hooks/alertmanager", content=json.dumps(message), headers=bearer(AM_TOKEN)
        )
        assert delivered.status_code == 200
        # Heard from again: nothing is wrong (the incident's messages were queued just now).
        assert await problems(client) == []

        # The lease ran out a while ago on another replica; this one is not the leader.
        async with bot.runtime.sessions() as session, session.begin():
            await session.execute(
                update(LeaderLease)
                .where(LeaderLease.name == LEASE_NAME)
                .values(owner="replica-gone", expires_at=clock() - timedelta(seconds=61))
            )
        bot.runtime.scheduler.is_leader = False
        found = (await client.get("/status")).json()["problems"]
        no_leader = [p for p in found if p["problem"] == "no_leader"]
        assert no_leader and "expired 61s ago" in no_leader[0]["detail"]


async def test_a_stuck_outbox_shows_on_status_and_never_takes_the_replica_out(
    db_url: str,
) -> None:
    clock = MovingClock()
    async with replica(db_url, clock, "replica-a", outbox_stuck_seconds=300) as (bot, client):
        await bot.runtime.scheduler.renew()
        _, message = captured("firing-group")
        await client.post(
            "/hooks/alertmanager", content=json.dumps(message), headers=bearer(AM_TOKEN)
        )
        # Nothing delivers (no worker, as if Slack hung): the incident's root waits.
        clock.advance(301)
        await bot.runtime.scheduler.renew()
        answer = await client.get("/status")
        assert answer.status_code == 200
        body = answer.json()
        (stuck,) = body["problems"]
        assert stuck["problem"] == "outbox_stuck" and "waited 301s" in stuck["detail"]
        assert body["status"] == "degraded"
        assert body["outbox"]["depth"] >= 1 and body["outbox"]["oldest_pending_seconds"] >= 301
        # Slack is what is stuck, not this replica: it keeps taking pages.
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["problems"] == []
        assert (await client.get("/livez")).json() == {"status": "ok"}


async def test_ops_channel_hears_once_and_pagerduty_is_paged_while_slack_is_down(
    db_url: str,
) -> None:
    clock = MovingClock()
    pd_server, pd = await start_pagerduty()
    monitoring = {
        "check_seconds": 3600,  # the test runs the checks itself
        "outbox_stuck_seconds": 60,
        "no_leader_seconds": 86_400,
        "pagerduty": {"routing_key": PD_KEY, "events_url": pd_server.url},
    }
    try:
        async with BotHarness(
            db_url, clock=clock, intake=intake_section(), monitoring=monitoring,
            escalation={"after_minutes": 0},
        ) as h, httpx.AsyncClient() as client:  # fmt: skip
            monitor = heartbeat(h.bot)
            # Slack is down: the page's incident root cannot be posted.
            h.state.set_fault("error_5xx", status=503)
            _, message = captured("firing-group")
            hook = await client.post(
                h.url + "/hooks/alertmanager", content=json.dumps(message), headers=bearer(AM_TOKEN)
            )
            assert hook.status_code == 200
            clock.advance(61)
            await monitor.check_once()
            await monitor.check_once()
            # The bot's own scheduled check may race the test's: both may send the trigger,
            # which PagerDuty folds into one alert by its dedup key.
            assert {e.event_action for e in pd.events} == {"trigger"}
            assert pd.open_alerts() == {"watchkeeper:outbox_stuck"}
            assert {e.routing_key for e in pd.events} == {PD_KEY}
            assert await ops_rows(h) == 1  # queued once, though checked twice

            # Slack is back: the outbox drains, and the next check sees the recovery.
            h.state.clear_fault()
            clock.advance(600)  # past the outbox's backoff
            h.bot.runtime.wake_outbox()
            await drained(h)
            await monitor.check_once()
            await monitor.check_once()
            said = await h.wait_for(
                lambda: len(h.state.messages(OPS)) == 2 and h.state.messages(OPS)
            )
            assert "unwell" in said[0].text and "undelivered" in said[0].text
            assert said[1].text.startswith(":white_check_mark: Recovered")
            assert pd.events[-1].event_action == "resolve"
            assert pd.open_alerts() == set()
    finally:
        await pd_server.stop()


async def test_replicas_that_are_not_leader_report_no_leader_once(db_url: str) -> None:
    clock = MovingClock()
    pd_server, pd = await start_pagerduty()
    monitoring = {"pagerduty": {"routing_key": PD_KEY, "events_url": pd_server.url}}
    try:
        async with (
            replica(db_url, clock, "replica-a", **monitoring) as (a, _),
            replica(db_url, clock, "replica-b", **monitoring) as (b, client_b),
        ):
            await a.runtime.scheduler.renew()  # a leads, then dies without handing over
            clock.advance(15 + 61)
            await heartbeat(b).check_once()
            await heartbeat(a).check_once()
            assert "no_leader" in await problems(client_b)
            async with a.runtime.sessions() as session:
                texts = list(
                    await session.scalars(
                        select(OutboxMessage.payload).where(OutboxMessage.lane == OPS)
                    )
                )
            assert sum("no replica holds it" in t for t in texts) == 1
            assert [e.dedup_key for e in pd.events if e.event_action == "trigger"].count(
                "watchkeeper:no_leader"
            ) == 1
    finally:
        await pd_server.stop()


async def drained(h: BotHarness, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while await h.bot.worker.pending_count():
        assert time.monotonic() < deadline, "the outbox did not drain"
        await asyncio.sleep(0.05)


async def ops_rows(h: BotHarness) -> int:
    async with h.bot.runtime.sessions() as session:
        count = await session.scalar(select(func.count()).where(OutboxMessage.lane == OPS))
    return int(count or 0)
