"""An alert storm on simulated time: a region fails and 10,000 alerts over 1,000 services
arrive within 60 s, in deliveries of 100. Every page is stored, the incidents fold into one
storm thread per region, Slack (the stand-in, pacing like Slack) never answers 429, and
the outbox is empty soon after the storm.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.composition import Bot, open_bot
from bot.config import parse_config
from bot.incidents.ingest import ingest
from bot.incidents.install import sweep_storms
from bot.incidents.models import Incident, PageRecord, Storm
from integrations.pages import Page, PageBatch
from standins.loopback import LoopbackServer
from standins.slack import StandInState, start_standin
from tests.conftest import base_config
from tests.harness import BotHarness, find_button
from tests.incident_helpers import (
    audit_rows,
    batch,
    block_text,
    incidents,
    page,
    recorded,
    replies,
)

EPOCH = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
REGIONS = ("eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-1")
SERVICES = 1000
ALERTNAMES = ("PostgresDown", "PostgresReplicationLag")
INSTANCES = 5  # 2 alertnames x 5 instances = 10 alerts per service
BATCH = 100
STORM_SECONDS = 60.0
STEP = 0.25  # how often the outbox worker makes a pass, in simulated seconds
CHANNEL = "C0DEMO001"


class SimClock:
    """One simulated time for the bot (datetimes) and the Slack stand-in (seconds)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def now(self) -> datetime:
        return EPOCH + timedelta(seconds=self.seconds)

    def monotonic(self) -> float:
        return self.seconds


def storm_pages() -> list[Page]:
    pages = [
        Page(
            source="alertmanager",
            dedup_key=f"{service:04d}-{name}-{instance}",
            status="firing",
            severity="critical" if name == "PostgresDown" else "warning",
            title=name,
            service=f"pg-storm-{service:04d}",
            kind="postgres",
            labels={
                "alertname": name,
                "service": f"pg-storm-{service:04d}",
                "region": REGIONS[service % len(REGIONS)],
                "instance": f"pg-storm-{service:04d}-{instance}",
            },
            summary=f"{name} on pg-storm-{service:04d}-{instance}",
            starts_at=EPOCH,
        )
        for service in range(SERVICES)
        for name in ALERTNAMES
        for instance in range(1, INSTANCES + 1)
    ]
    random.Random(5).shuffle(pages)
    return pages


@dataclass
class Rig:
    bot: Bot
    state: StandInState
    clock: SimClock
    standin: LoopbackServer

    async def run_worker(self, seconds: float) -> None:
        """Let simulated time pass, the outbox worker making a pass every STEP."""
        for _ in range(round(seconds / STEP)):
            await self.bot.worker.deliver_due()
            self.clock.seconds += STEP
            if self.clock.seconds % 5 < STEP:  # the leader's storm sweep, every 5 s
                await sweep_storms(self.bot.runtime)


@pytest.fixture
async def rig(db_url: str) -> AsyncIterator[Rig]:
    clock = SimClock()
    state = StandInState(clock=clock.monotonic)
    state.enforce_pace = True  # 429 like Slack past ~1 message/s per channel
    standin, state = await start_standin(state=state)
    raw = base_config(
        storage={"url": db_url},
        outbox={"per_channel_interval_seconds": 1.0, "poll_interval_seconds": 0.05},
    )
    raw["slack"]["api_url"] = standin.url + "/api/"
    bot = await open_bot(parse_config(raw, {}), clock=clock.now, run_worker=False)
    yield Rig(bot, state, clock, standin)
    await bot.stop()
    await standin.stop()


async def test_ten_thousand_alerts_fold_into_storm_threads_at_slacks_pace(rig: Rig) -> None:
    rt = rig.bot.runtime
    pages = storm_pages()
    interval = STORM_SECONDS / (len(pages) / BATCH)
    new = 0
    for start in range(0, len(pages), BATCH):
        new += await ingest(rt, PageBatch(pages=pages[start : start + BATCH]))
        await rig.run_worker(interval)
    assert rig.clock.seconds <= STORM_SECONDS + STEP
    assert new == 10_000
    await rt.background.drain()
    storm_over = rig.clock.seconds
    while await rig.bot.worker.pending_count() and rig.clock.seconds < storm_over + 900:
        await rig.run_worker(5)
    drained_after = rig.clock.seconds - storm_over

    async with rt.sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(PageRecord))
        unattached = await session.scalar(
            select(func.count()).where(PageRecord.incident_id.is_(None))
        )
        incidents = list(await session.scalars(select(Incident)))
        storms = list(await session.scalars(select(Storm).order_by(Storm.id)))
    assert (stored, unattached) == (10_000, 0)
    assert len(incidents) == SERVICES * len(ALERTNAMES)
    assert sum(i.page_count for i in incidents) == 10_000
    # One storm per region; a region's first few incidents keep threads, up to threshold - 1.
    assert sorted(s.storm_key for s in storms) == sorted(f"region={r}" for r in REGIONS)
    assert sum(s.incident_count for s in storms) == len(incidents)
    assert sum(s.page_count for s in storms) == 10_000
    threaded = [i for i in incidents if i.has_thread]
    assert len(threaded) <= len(REGIONS) * (rt.config.storms.threshold - 1)

    # Slack saw the channel at its pace: no 429, posts at least a second apart, all out.
    calls = rig.state.calls()
    assert [c for c in calls if c.status == 429] == []
    times = rig.state.post_times(CHANNEL)
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(times))
    assert await rig.bot.worker.pending_count() == 0
    assert drained_after < 600
    shown = rig.state.messages(CHANNEL)
    assert len(shown) < 300  # a readable channel, not 2,000 threads
    storm_roots = [m for m in shown if m.thread_ts is None and "Alert storm" in m.text]
    assert len(storm_roots) == len(REGIONS)
    for root in storm_roots:
        text = block_text(root.blocks)
        assert "*Incidents*\n400" in text and "*Pages*\n2,000" in text


async def test_a_storm_is_acknowledged_and_resolved_from_its_root(db_url: str) -> None:
    async with BotHarness(db_url, storms={"threshold": 3}) as h:
        rt = h.bot.runtime
        services = [f"pg-{n}" for n in range(6)]
        await ingest(rt, batch(*(page(f"fp-{s}", service=s) for s in services)))
        found = await incidents(rt)
        assert sum(1 for i in found if i.has_thread) == 2  # threshold - 1 keep threads
        assert {i.storm_id for i in found} == {1}
        ts = await recorded(rt, "storm:1")
        root = next(m for m in h.state.messages("C0DEMO001") if m.ts == ts)
        assert "Alert storm in region eu-west-1: 6 incidents" in root.text
        await h.click("alice", find_button(root.blocks, "Acknowledge all"), message_ts=ts)
        assert "acknowledged 6 incidents" in (await h.wait_for_response("alice")).text
        assert {i.acknowledged_by for i in await incidents(rt)} == {"UALICE01"}
        assert len(await audit_rows(rt, "incident.acknowledged")) == 6
        await h.mention("bob", "resolve", thread_ts=ts)
        await h.wait_for(lambda: any("resolved 6" in r.text for r in replies(h.state, root)))
        assert {i.status for i in await incidents(rt)} == {"resolved"}
        await h.wait_for(lambda: "*Resolved*\n6" in block_text(root.blocks))
