"""`/fleet status` on a real Patroni backend: from the signed command to the card at the
Slack stand-in, against the REST calls that card needs, made bare in the same run.

A real two-node Patroni cluster with etcd on loopback (`tests/patroni_cluster.py`); the
whole bot in this process (signed request through the real Bolt app, the permission step
and its audit row, the Patroni backend, the outbox, the stand-in), one command at a time.
1. One cluster: `/fleet status <cluster>`, the clock stops when the card reaches the
   stand-in. Baseline: `GET /cluster` and `GET /history` at once with a bare httpx client,
   the reads no bot can save.
2. The overview (`/fleet status`) of the Patroni backend beside an unreachable one, each
   read within its deadline. Baseline: `GET /cluster` alone.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.load import free_port
from bench.report import Figure, print_figures
from bench.sizes import scaled_count

# The in-process bot of the scenario tests and the real Patroni cluster of the tests.
from tests.harness import USERS, BotHarness
from tests.patroni_cluster import PatroniCluster, start_cluster, stop_cluster

TITLE = "/fleet status on a real Patroni backend: command → card vs the raw REST calls"
SAMPLES = scaled_count(200, 10)
WARMUP = 5


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


async def _command_to_card(h: BotHarness, line: str, samples: int) -> list[float]:
    """Milliseconds from sending the command to the card's arrival at the stand-in (the
    stand-in stamps each response with its monotonic clock, so polling adds nothing)."""
    times: list[float] = []
    for i in range(samples + WARMUP):
        seen = len(h.state.events())
        started = time.monotonic()
        await h.command("bob", line)

        def card(since: int = seen) -> float | None:
            arrived = [e.at for e in h.state.events(since=since) if e.kind == "response"]
            return arrived[0] if arrived else None

        arrived = await h.wait_for(card, within=30)
        if i >= WARMUP:
            times.append((arrived - started) * 1000)
    return times


async def _raw(cluster: PatroniCluster, paths: tuple[str, ...], samples: int) -> list[float]:
    times: list[float] = []
    async with httpx.AsyncClient(timeout=5) as http:
        for i in range(samples + WARMUP):
            started = time.perf_counter()
            answers = await asyncio.gather(*(http.get(cluster.urls[0] + p) for p in paths))
            for answer in answers:
                answer.raise_for_status()
                answer.json()
            if i >= WARMUP:
                times.append((time.perf_counter() - started) * 1000)
    return times


async def _measure(cluster: PatroniCluster, db_url: str) -> dict[str, list[float]]:
    rules = {"rules": [{"actions": ["restart"], "roles": ["responder"]}]}
    unreachable = {
        "name": "pg-dc2",
        "type": "patroni",
        "clusters": {"pg-gone": [f"http://127.0.0.1:{free_port()}"]},
    }
    fleet: dict[str, Any] = {"backends": [cluster.backend_config(), unreachable]}
    out: dict[str, list[float]] = {}
    async with BotHarness(
        db_url,
        roles={
            "responder": {"users": [USERS["bob"]]},
            "auditor": {"users": [USERS["carol"]]},
        },
        policies=rules,
        fleet=fleet,
        env=cluster.env,
    ) as h:
        out["one"] = await _command_to_card(h, f"/fleet status {cluster.name}", SAMPLES)
        out["overview"] = await _command_to_card(h, "/fleet status", SAMPLES)
    out["raw one"] = await _raw(cluster, ("/cluster", "/history"), SAMPLES)
    out["raw overview"] = await _raw(cluster, ("/cluster",), SAMPLES)
    return out


def _figures(times: dict[str, list[float]]) -> Iterator[Figure]:
    pairs = (
        ("one cluster", "one", "raw one", "GET /cluster + /history, bare httpx"),
        ("overview, 2 backends (1 unreachable)", "overview", "raw overview", "GET /cluster"),
    )
    for label, bot, raw, base in pairs:
        for p in (50, 99):
            yield Figure(
                f"p{p} command → card, {label}",
                _percentile(times[bot], p),
                "ms",
                base,
                _percentile(times[raw], p),
                higher_is_better=False,
            )


def run() -> Iterator[Figure]:
    cluster = start_cluster()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db_url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            times = asyncio.run(_measure(cluster, db_url))
    finally:
        stop_cluster(cluster)
    yield from _figures(times)


if __name__ == "__main__":
    print_figures(TITLE, run())
