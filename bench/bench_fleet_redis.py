"""`/fleet status` on the real Redis Sentinel backend: a master, two replicas and three
Sentinels on loopback (tests/redis_sentinel_cluster.py), the bot in this process (signed
Slack requests through the real Bolt app, the outbox, the Slack stand-in).

1. Command → card: from sending the signed `/fleet status <master>` to the status card
   reaching the Slack stand-in, one command at a time. Baseline, same run: the raw redis-py
   calls the backend makes for that card (`SENTINEL MASTER`; then `REPLICAS`, `SENTINELS`,
   `CKQUORUM` and `GET-MASTER-ADDR-BY-NAME` on all three Sentinels at once; then
   `INFO replication` on the three nodes at once), on open connections, answers unparsed.
2. The backend's `get_service` alone, against the same baseline: what parsing and judging
   the answers add.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from redis.asyncio import Redis

from bench.report import Figure, print_figures
from bench.sizes import scaled_count
from tests.harness import BotHarness
from tests.redis_sentinel_cluster import (
    PASSWORD_ENV,
    USER,
    SentinelCluster,
    start_cluster,
    stop_cluster,
)

TITLE = "/fleet status on a real Redis Sentinel set (master, two replicas, three Sentinels)"
RUNS = scaled_count(300, 20)
WARMUP = 5


def _p(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] * 1000


async def _send(client: Redis, *args: str) -> object:
    return await client.execute_command(*args)  # type: ignore[no-untyped-call]


class RawCalls:
    """What the backend sends for one status card, with redis-py and nothing else."""

    def __init__(self, cluster: SentinelCluster) -> None:
        def client(port: int) -> Redis:
            return Redis(
                port=port, username=USER, password=cluster.password, protocol=2,
                decode_responses=True, driver_info=None,
            )  # fmt: skip

        self.name = cluster.name
        self.sentinels = [client(p) for p in cluster.sentinel_ports]
        self.nodes = {p: client(p) for p in cluster.data_ports}

    async def once(self) -> None:
        first, name = self.sentinels[0], self.name
        await _send(first, "SENTINEL", "MASTER", name)
        await asyncio.gather(
            _send(first, "SENTINEL", "REPLICAS", name),
            _send(first, "SENTINEL", "SENTINELS", name),
            _send(first, "SENTINEL", "CKQUORUM", name),
            *(_send(s, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", name) for s in self.sentinels),
        )
        await asyncio.gather(*(_send(n, "INFO", "replication") for n in self.nodes.values()))

    async def aclose(self) -> None:
        for c in [*self.sentinels, *self.nodes.values()]:
            await c.aclose()


async def _timed(work: Callable[[], Awaitable[None]], runs: int) -> list[float]:
    samples = []
    for i in range(WARMUP + runs):
        began = time.perf_counter()
        await work()
        if i >= WARMUP:
            samples.append(time.perf_counter() - began)
    return samples


async def _measure(cluster: SentinelCluster, tmp: Path) -> list[Figure]:
    raw = RawCalls(cluster)
    card_s: list[float] = []
    async with BotHarness(
        f"sqlite+aiosqlite:///{tmp}/bench.db", fleet={"backends": [cluster.backend_config()]}
    ) as h:
        backend = h.bot.runtime.fleet.backend_for(cluster.name)
        assert backend is not None
        for run in range(WARMUP + RUNS):
            sent = time.monotonic()  # the stand-in's events are on this clock
            await h.command("dave", f"/fleet status {cluster.name}")
            await h.wait_for_response("dave", count=run + 1)
            card = next(
                e for e in h.state.events()
                if e.kind == "response" and e.at >= sent and "(redis)" in str(e.data.get("blocks"))
            )  # fmt: skip
            assert "Quorum" in str(card.data.get("blocks"))
            if run >= WARMUP:
                card_s.append(card.at - sent)

        async def get_service() -> None:
            await backend.get_service(cluster.name)

        backend_s = await _timed(get_service, RUNS)
    raw_s = await _timed(raw.once, RUNS)
    await raw.aclose()
    base = "the raw redis-py calls of one card"
    n = f"{RUNS} commands, one at a time"
    return [
        Figure(f"p50 command → card, {n}", _p(card_s, 50), "ms", base, _p(raw_s, 50),
               higher_is_better=False),
        Figure(f"p99 command → card, {n}", _p(card_s, 99), "ms", base, _p(raw_s, 99),
               higher_is_better=False),
        Figure("p50 backend get_service alone", _p(backend_s, 50), "ms", base, _p(raw_s, 50),
               higher_is_better=False),
        Figure("p99 backend get_service alone", _p(backend_s, 99), "ms", base, _p(raw_s, 99),
               higher_is_better=False),
    ]  # fmt: skip


def run() -> list[Figure]:
    cluster = start_cluster()
    os.environ[PASSWORD_ENV] = cluster.password
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return asyncio.run(_measure(cluster, Path(tmp)))
    finally:
        stop_cluster(cluster)


if __name__ == "__main__":
    print_figures(TITLE, run())
