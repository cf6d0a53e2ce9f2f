"""`/fleet status` on the `kafka` backend, against a real Kafka-protocol broker (Tansu).

The whole bot in this process (signed slash command through the real Bolt app, the
permission step, the Kafka backend on its worker thread, the reply through the outbox to
the Slack stand-in's response URL); the clock runs from sending the command to the card
arriving at the stand-in. The cluster: one broker, TOPICS topics of 3 partitions with
records, two watched consumer groups with lag.

Baseline, same run, same broker: the raw kafka-python calls the status is made of
(DescribeCluster, Metadata, DescribeConfigs, then per group DescribeGroups, OffsetFetch and
ListOffsets), made one after the other from a plain loop: the part no bot can save.
Commands go one at a time, in ROUNDS alternating with the baseline, so both see the same
drift of a shared machine.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kafka.admin import ConfigResource, ConfigResourceType, OffsetSpec

from bench.report import Figure
from bench.sizes import scaled_count
from integrations.fleet.kafka.admin import AdminSeam, Connection, open_client
from tests.harness import BotHarness
from tests.tansu_broker import TansuBroker, start_broker, stop_broker

TITLE = "Kafka backend: /fleet status on a Tansu broker vs the raw kafka-python calls"
SERVICE = "kafka-bench"
TOPICS = 5
GROUPS = ("billing", "search")
COMMANDS = scaled_count(300, 10)  # per side, split over ROUNDS
ROUNDS = 3
WARMUP = 5


def _prepare(broker: TansuBroker) -> None:
    for i in range(TOPICS):
        broker.create_topic(f"events-{i}", 3)
    broker.produce("events-0", 5, 3)
    for group in GROUPS:
        consumer = broker.consumer(group, "events-0")
        try:
            broker.consume(consumer, 4)
        finally:
            consumer.close()


def _raw_status(admin: AdminSeam) -> None:
    admin.describe_cluster()
    topics = admin.describe_topics()
    names = [t["name"] for t in topics]
    admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, n) for n in names], config_filter="all"
    )
    for group in GROUPS:
        admin.describe_groups([group])
        committed = admin.list_group_offsets({group: None})[group]
        admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in committed})


def _baseline(broker: TansuBroker, count: int) -> list[float]:
    # kafka-python's own client, as the backend opens it (it drops ACL bits it cannot read).
    admin = open_client(Connection((broker.bootstrap,)))
    try:
        for _ in range(WARMUP):
            _raw_status(admin)
        took = []
        for _ in range(count):
            start = time.perf_counter()
            _raw_status(admin)
            took.append((time.perf_counter() - start) * 1000)
        return took
    finally:
        admin.close()


class CardClock:
    """Notes when each reply reaches the stand-in's response URL."""

    def __init__(self, h: BotHarness) -> None:
        self.arrived = asyncio.Event()
        self.texts: list[str] = []
        real = h.state.post_response

        def post_response(*args: Any, **kwargs: Any) -> Any:
            post = real(*args, **kwargs)
            self.texts.append(post.text)
            self.arrived.set()
            return post

        h.state.post_response = post_response  # type: ignore[method-assign]


async def _bot_round(h: BotHarness, clock: CardClock, count: int) -> list[float]:
    took = []
    for _ in range(count):
        clock.arrived.clear()
        start = time.perf_counter()
        await h.command("erin", f"/fleet status {SERVICE}")
        await asyncio.wait_for(clock.arrived.wait(), 30)
        took.append((time.perf_counter() - start) * 1000)
        if "controller" not in clock.texts[-1]:
            raise RuntimeError(f"not a status card: {clock.texts[-1][:200]}")
    return took


async def _measure(broker: TansuBroker, db_url: str) -> tuple[list[float], list[float]]:
    _prepare(broker)
    fleet = {"backends": [broker.backend_config(SERVICE, list(GROUPS))]}
    bot_ms: list[float] = []
    raw_ms: list[float] = []
    async with BotHarness(db_url, fleet=fleet) as h:
        clock = CardClock(h)
        await _bot_round(h, clock, WARMUP)
        per_round = max(1, COMMANDS // ROUNDS)
        for _ in range(ROUNDS):
            raw_ms += await asyncio.to_thread(_baseline, broker, per_round)
            bot_ms += await _bot_round(h, clock, per_round)
    return bot_ms, raw_ms


def _p(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


def run() -> Iterator[Figure]:
    broker = start_broker()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db_url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            bot_ms, raw_ms = asyncio.run(_measure(broker, db_url))
    finally:
        stop_broker(broker)
    base = "kafka-python calls alone"
    yield Figure(
        "p50 command → status card",
        statistics.median(bot_ms),
        "ms",
        base,
        statistics.median(raw_ms),
        higher_is_better=False,
    )
    yield Figure(
        "p99 command → status card", _p(bot_ms, 99), "ms", base, _p(raw_ms, 99),
        higher_is_better=False,
    )  # fmt: skip
    yield Figure("status cards measured", len(bot_ms), "cards", base, len(raw_ms))
