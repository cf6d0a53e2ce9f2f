"""Export: JSON Lines and CSV a SIEM ingests, filtered, streamed in constant memory."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.audit.export import ExportFilter, export_entries
from bot.db.engine import session_factory
from tests.test_audit_support import ACTORS, KEYS, START, append_rows, stepping_clock


def canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class CountingSink(io.TextIOBase):
    """Counts what is written and keeps nothing, like a pipe to a SIEM."""

    def __init__(self) -> None:
        self.writes = 0
        self.lines = 0

    def write(self, text: str) -> int:
        self.writes += 1
        self.lines += text.count("\n")
        return len(text)


async def _fill(engine: AsyncEngine, rows: int, per_transaction: int = 500) -> None:
    clock = stepping_clock()
    for first in range(0, rows, per_transaction):
        async with session_factory(engine)() as session, session.begin():
            await append_rows(session, min(per_transaction, rows - first), first=first, clock=clock)


async def _export(engine: AsyncEngine, **kwargs: object) -> str:
    out = io.StringIO()
    async with engine.connect() as conn:
        await export_entries(conn, out, **kwargs)  # type: ignore[arg-type]
    return out.getvalue()


async def test_each_json_line_carries_what_a_receiver_needs_to_re_verify_it(
    engine: AsyncEngine,
) -> None:
    await _fill(engine, 30)
    lines = (await _export(engine)).splitlines()
    assert len(lines) == 30
    prev = "0" * 64
    for line in lines:
        row = json.loads(line)
        assert line == canonical(row)
        # What a SIEM holding the key checks: the line without its two hashes is canonical(row).
        text = canonical({k: v for k, v in row.items() if k not in ("prev_hash", "hash")})
        assert row["prev_hash"] == prev
        assert KEYS.current.mac(prev, text) == row["hash"]
        prev = row["hash"]
        assert "xoxb-never-stored" not in line


async def test_csv_has_a_header_and_one_record_per_row(engine: AsyncEngine) -> None:
    await _fill(engine, 12)
    records = list(csv.DictReader(io.StringIO(await _export(engine, fmt="csv"))))
    assert len(records) == 12
    assert records[0]["seq"] == "1" and records[0]["at"] == "2024-05-01T03:00:00.000000Z"
    assert records[0]["ref"] == ""  # row 0 of the fixture has no ref
    assert json.loads(records[3]["params"])["reason"].endswith("✓")  # newlines survive quoting
    assert records[3]["params"].count("\n") == 0 and "\\n" in records[3]["params"]


async def test_filters_by_time_actor_and_target(engine: AsyncEngine) -> None:
    await _fill(engine, 40)
    # Rows are 1.5 s apart from START: rows 11..20 fall in [15 s, 30 s).
    window = ExportFilter(since=START + timedelta(seconds=15), until=START + timedelta(seconds=30))
    seqs = [json.loads(x)["seq"] for x in (await _export(engine, where=window)).splitlines()]
    assert seqs == list(range(11, 21))
    alice = ExportFilter(actor=ACTORS[0].id)
    actors = {json.loads(x)["actor"] for x in (await _export(engine, where=alice)).splitlines()}
    assert actors == {"UALICE01"}
    both = ExportFilter(actor="UALICE01", target="pg-orders-0")
    rows = [json.loads(x) for x in (await _export(engine, where=both)).splitlines()]
    assert rows and all((r["actor"], r["target"]) == ("UALICE01", "pg-orders-0") for r in rows)


async def test_export_memory_does_not_grow_with_the_row_count(engine: AsyncEngine) -> None:
    await _fill(engine, 2000)

    async def peak(rows: int) -> tuple[int, CountingSink]:
        sink = CountingSink()
        upto = ExportFilter(until=START + timedelta(seconds=1.5 * rows))
        tracemalloc.start()
        try:
            async with engine.connect() as conn:
                written = await export_entries(conn, sink, where=upto, batch=100)
            _, top = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert written == rows == sink.lines
        return top, sink

    small, _ = await peak(200)
    big, sink = await peak(2000)
    assert sink.writes >= 20  # written batch by batch, never gathered
    # Ten times the rows, about the same memory: one batch of 100 at a time.
    assert big < small * 1.5 + 256 * 1024, (small, big)
