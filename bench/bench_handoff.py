"""Building a 12-hour shift's handoff summary on 1,000,000 audit rows and 100,000 incidents.

The rows are bulk-inserted (their hashes are not a valid chain: the summary does not
verify, it reads). The baseline, in the same run and database, is the bare indexed range
scan that counts the shift's audit rows: the least any summary must do.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

from sqlalchemy import Boolean, DateTime, Integer, String, Text, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.bench_audit import _drop_pg, _pg_database
from bench.report import Figure, Target, print_figures
from bench.sizes import scaled_count
from bot.audit import vocabulary as v
from bot.audit.models import AuditEntry
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from bot.incidents.install import open_incidents_section
from bot.incidents.models import Incident
from bot.oncall.summary import SUMMARY_ACTIONS, collect_facts

AUDIT_ROWS = int(os.environ.get("BENCH_HANDOFF_AUDIT_ROWS", scaled_count(1_000_000, 2_000)))
INCIDENTS = int(os.environ.get("BENCH_HANDOFF_INCIDENTS", scaled_count(100_000, 200)))
TITLE = f"Handoff summary: a 12-hour shift on {AUDIT_ROWS:,} audit rows and {INCIDENTS:,} incidents"
DAYS = 90  # the audit rows spread over this many days, so a shift holds ~1/180 of them
END = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
START = END - timedelta(hours=12)
ACTIONS = [*SUMMARY_ACTIONS, v.COMMAND_INVOKED, v.OPERATION_STARTED, v.CONFIG_LOADED]


def _audit_rows(count: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    span = DAYS * 86400
    return [
        {
            "seq": seq,
            "at": END - timedelta(seconds=rng.random() * span),
            "actor": rng.choice(["UALICE01", "UBOB0002", "watchkeeper:automation"]),
            "actor_name": "bench",
            "action": rng.choice(ACTIONS),
            "target": f"pg-service-{rng.randrange(1000)}",
            "params": "{}",
            "outcome": rng.choice([v.SUCCEEDED, v.FAILED, v.DENIED, "opened", v.APPROVED]),
            "ref": f"inc-{rng.randrange(INCIDENTS)}",
            "key_id": "bench",
            "prev_hash": "0" * 64,
            "hash": "0" * 64,
        }
        for seq in range(1, count + 1)
    ]


def _filler(column: Any) -> Any:
    if column.nullable or column.primary_key:
        return None
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 0
    if isinstance(kind, DateTime) or "DateTime" in type(kind).__name__:
        return END
    if isinstance(kind, String | Text):
        return ""
    return None


def _incident_rows(count: int) -> list[dict[str, Any]]:
    rng = random.Random(11)
    template = {c.name: _filler(c) for c in Incident.__table__.columns if not c.primary_key}
    rows = []
    for n in range(count):
        still_open = n >= count - 40  # a realistic handful are open at handoff
        row = dict(template)
        row.update(
            group_hash=f"{n:064d}", group_key=f"alert{n}", title=f"Alert {n}", severity="warning",
            status="triggered" if still_open else "resolved", source="alertmanager",
            service=f"pg-service-{rng.randrange(1000)}", channel="C0DEMO001", route="default",
            labels="{}", opened_at=END - timedelta(seconds=rng.random() * DAYS * 86400),
            open_key=f"{n:064d}" if still_open else None,
        )  # fmt: skip
        rows.append(row)
    return rows


async def _load(engine: AsyncEngine) -> None:
    await upgrade(engine)
    audit, incidents = _audit_rows(AUDIT_ROWS), _incident_rows(INCIDENTS)
    async with engine.begin() as conn:
        for i in range(0, len(audit), 20_000):
            await conn.execute(insert(AuditEntry.__table__), audit[i : i + 20_000])
        for i in range(0, len(incidents), 10_000):
            await conn.execute(insert(Incident.__table__), incidents[i : i + 10_000])
        if engine.dialect.name == "postgresql":
            await conn.exec_driver_sql("ANALYZE")


async def _time(engine: AsyncEngine, runs: int = 7) -> tuple[float, float, int]:
    sessions = session_factory(engine)
    summary_ms, scan_ms = [], []
    opened = 0
    for _ in range(runs):
        async with sessions() as session:
            t0 = time.perf_counter()
            facts = await collect_facts(session, START, END, [open_incidents_section])
            summary_ms.append((time.perf_counter() - t0) * 1000)
            opened = len(facts.opened)
            t0 = time.perf_counter()
            await session.scalar(
                select(func.count()).where(AuditEntry.at >= START, AuditEntry.at < END)
            )
            scan_ms.append((time.perf_counter() - t0) * 1000)
    return median(summary_ms), median(scan_ms), opened


def _measure(label: str, url: str) -> list[Figure]:
    async def go() -> tuple[float, float, int]:
        engine = create_engine(url)
        try:
            await _load(engine)
            return await _time(engine)
        finally:
            await engine.dispose()

    summary, scan, opened = asyncio.run(go())
    print(f"{label}: {opened} incidents opened in the shift")
    return [
        Figure(f"{label}: build the summary (median of 7)", summary, "ms",
               "range scan counting the shift's rows", scan, target=Target(200),
               higher_is_better=False),
    ]  # fmt: skip


def run() -> Iterator[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        yield from _measure("SQLite", f"sqlite+aiosqlite:///{Path(tmp)}/handoff.db")
    database = _pg_database()
    if database is not None:
        name, _dsn, url = database
        try:
            yield from _measure("PostgreSQL", url)
        finally:
            _drop_pg(name)


if __name__ == "__main__":
    print_figures(TITLE, run())
