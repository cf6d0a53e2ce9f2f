"""An alert storm through the incidents core: 10,000 alerts over 1,000 services in 60 s of
simulated time, fed to `ingest` in deliveries of 100, delivered to the Slack stand-in at
its real pace (1 message/s per channel, 429 past it).

Figures, each beside a baseline measured in the same run:
- ingest rate (pages/s) against plain bulk INSERTs of the same rows into the same table
  (no dedupe, no grouping, no threads, no audit): what storing alone costs;
- peak RSS of the whole storm (stand-in, bot, delivery) against the bulk INSERT process;
- how long after the storm the outbox is empty (simulated seconds) against one thread per
  incident at Slack's pace, which is what a bot without storms would owe the channel.

Every run is a child process of its own, so peak RSS is the run's own.
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.report import Figure, Target, print_figures
from bench.sizes import PG_ADMIN, scaled_count

REGIONS = ("eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-1")
SERVICES, ALERTNAMES, INSTANCES, BATCH = 1000, ("PostgresDown", "PostgresReplicationLag"), 5, 100
SERVICES = scaled_count(SERVICES, 10)
ALERTS = SERVICES * len(ALERTNAMES) * INSTANCES
STORM_SECONDS, STEP = 60.0, 0.25
EPOCH = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
TITLE = (
    f"Alert storm: {ALERTS:,} alerts over {SERVICES:,} services in {STORM_SECONDS:.0f} simulated"
    " seconds, through ingest, threads and outbox"
)


def storm_pages() -> list[Any]:
    from integrations.pages import Page

    pages = [
        Page(
            source="alertmanager",
            dedup_key=f"{s:04d}-{name}-{i}",
            status="firing",
            severity="critical" if name == "PostgresDown" else "warning",
            title=name,
            service=f"pg-storm-{s:04d}",
            kind="postgres",
            labels={
                "alertname": name,
                "service": f"pg-storm-{s:04d}",
                "region": REGIONS[s % len(REGIONS)],
                "instance": f"pg-storm-{s:04d}-{i}",
            },
            summary=f"{name} on pg-storm-{s:04d}-{i}",
            starts_at=EPOCH,
        )
        for s in range(SERVICES)
        for name in ALERTNAMES
        for i in range(1, INSTANCES + 1)
    ]
    random.Random(5).shuffle(pages)
    return pages


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _open(url: str) -> tuple[Any, Any, Any, dict[str, float]]:
    """The Slack stand-in at Slack's pace and the bot on a simulated clock, in this process:
    (bot, stand-in server, its state, the simulated clock)."""
    from bot.composition import open_bot
    from bot.config import parse_config
    from standins.slack import StandInState, start_standin

    sim = {"t": 0.0}
    state = StandInState(clock=lambda: sim["t"])
    state.enforce_pace = True
    standin, state = await start_standin(state=state)
    raw: dict[str, Any] = {
        "slack": {"signing_secret": "bench", "bot_token": "xoxb-bench"},
        "fleet": {"backends": [{"name": "sim", "type": "simulator", "url": "http://127.0.0.1:0"}]},
        "channels": {"default": "C0DEMO001"},
        "storage": {"url": url},
        "outbox": {"per_channel_interval_seconds": 1.0},
        "audit": {"key": "${BENCH_AUDIT_KEY:-bench-audit-key-0123456789}", "checkpoint_file": None},
    }
    raw["slack"]["api_url"] = standin.url + "/api/"
    bot = await open_bot(
        parse_config(raw, {}), clock=lambda: EPOCH + timedelta(seconds=sim["t"]), run_worker=False
    )
    return bot, standin, state, sim


async def _idle(url: str) -> dict[str, float]:
    """The RSS baseline: the same process opened the same way, one delivery pass and one
    storm sweep with nothing to do, and no storm."""
    from bot.incidents.ingest import ingest  # noqa: F401 (the storm's imports, for a fair RSS)
    from bot.incidents.install import sweep_storms

    bot, standin, _, _ = await _open(url)
    await bot.worker.deliver_due()
    await sweep_storms(bot.runtime)
    await bot.stop()
    await standin.stop()
    return {}


async def _storm(url: str) -> dict[str, float]:
    from bot.incidents.ingest import ingest
    from bot.incidents.install import sweep_storms
    from integrations.pages import PageBatch

    bot, standin, state, sim = await _open(url)
    rt = bot.runtime

    async def advance(seconds: float) -> None:
        for _ in range(round(seconds / STEP)):
            await bot.worker.deliver_due()
            sim["t"] += STEP
            if sim["t"] % 5 < STEP:
                await sweep_storms(rt)

    pages = storm_pages()
    ingest_seconds = 0.0
    started = time.perf_counter()
    for start in range(0, len(pages), BATCH):
        t0 = time.perf_counter()
        await ingest(rt, PageBatch(pages=pages[start : start + BATCH]))
        ingest_seconds += time.perf_counter() - t0
        await advance(STORM_SECONDS / (len(pages) / BATCH))
    await rt.background.drain()
    storm_over = sim["t"]
    while await bot.worker.pending_count():
        await advance(1.0)
    wall = time.perf_counter() - started
    throttled = sum(1 for c in state.calls() if c.status == 429)
    await bot.stop()
    await standin.stop()
    return {
        "ingest_rate": len(pages) / ingest_seconds,
        "drain_after": sim["t"] - storm_over,
        "wall": wall,
        "throttled": throttled,
        "slack_calls": len(state.calls()),
    }


async def _bulk(url: str) -> dict[str, float]:
    """The same rows into the same table with plain multi-row INSERTs, nothing else."""
    from sqlalchemy import insert

    from bot.db.engine import create_engine, session_factory
    from bot.db.migrate import upgrade
    from bot.incidents.models import PageRecord

    engine = create_engine(url)
    await upgrade(engine)
    sessions = session_factory(engine)
    pages = storm_pages()
    now = datetime.now(UTC)
    seconds = 0.0
    for start in range(0, len(pages), BATCH):
        rows = [
            {
                "source": p.source,
                "dedup_key": p.dedup_key,
                "epoch": p.starts_at.isoformat(),
                "status": p.status,
                "severity": p.severity,
                "title": p.title,
                "service": p.service,
                "kind": p.kind,
                "labels": json.dumps(p.labels),
                "summary": p.summary,
                "description": "",
                "received_at": now,
                "starts_at": p.starts_at,
                "group_hash": "-",
            }
            for p in pages[start : start + BATCH]
        ]
        t0 = time.perf_counter()
        async with sessions() as session, session.begin():
            # executemany: SQLAlchemy batches it into multi-row INSERTs, the fastest plain way.
            await session.execute(insert(PageRecord.__table__), rows)
        seconds += time.perf_counter() - t0
    await engine.dispose()
    return {"ingest_rate": len(pages) / seconds}


CHILDREN = {"storm": _storm, "idle": _idle, "bulk": _bulk}


def _child(kind: str, url: str) -> None:
    result = asyncio.run(CHILDREN[kind](url))
    result["peak_rss_mib"] = _peak_rss_mib()
    print(json.dumps(result))


def _run_child(kind: str, url: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_storm", "--child", kind, url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _databases(tmp: str) -> Iterator[tuple[str, dict[str, str], list[str]]]:
    """(store, a fresh database URL per child kind, PostgreSQL databases to drop) for
    SQLite, then PostgreSQL when reachable."""
    yield "SQLite", {kind: f"sqlite+aiosqlite:///{tmp}/{kind}.db" for kind in CHILDREN}, []
    import psycopg

    names = {kind: f"wk_bench_{uuid.uuid4().hex[:8]}" for kind in CHILDREN}
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as admin:
            for name in names.values():
                admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL not reachable at {PG_ADMIN} ({exc}); its figures are skipped")
        return
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    yield "PostgreSQL", {kind: f"{base}/{n}" for kind, n in names.items()}, list(names.values())


def _drop(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _figures(name: str, runs: dict[str, dict[str, float]]) -> list[Figure]:
    storm, idle, bulk = runs["storm"], runs["idle"], runs["bulk"]
    incidents = float(SERVICES * len(ALERTNAMES))
    return [
        Figure(f"ingest rate, {name}", storm["ingest_rate"], "pages/s",
               "plain bulk INSERT", bulk["ingest_rate"]),
        Figure(f"peak RSS of the bot process under the storm, {name}", storm["peak_rss_mib"],
               "MiB", "the same process idle, no storm", idle["peak_rss_mib"],
               higher_is_better=False),
        Figure(f"outbox drained after the storm, {name}", storm["drain_after"],
               "s (simulated)", "one thread per incident at 1/s", incidents,
               higher_is_better=False),
        Figure(f"Slack messages for the storm, {name}", storm["slack_calls"], "calls",
               "one root per incident", incidents, higher_is_better=False),
        Figure(f"429 answers from Slack's pace, {name}", storm["throttled"], "calls",
               target=Target(0), higher_is_better=False),
        Figure(f"whole storm, real time, {name}", storm["wall"], "s",
               "simulated storm", STORM_SECONDS, higher_is_better=False),
    ]  # fmt: skip


def run() -> Iterator[Figure]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for name, urls, databases in _databases(tmp):
            try:
                runs = {kind: _run_child(kind, url) for kind, url in urls.items()}
            finally:
                for database in databases:
                    _drop(database)
            yield from _figures(name, runs)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        print_figures(TITLE, run())
