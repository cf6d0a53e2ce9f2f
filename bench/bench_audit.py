"""The audit log: append rate with 1 and 2 writers, verify rate, and export of a million rows.

Same run, same machine, each figure beside its baseline:

- append (one row per transaction, through `bot.audit.append`) against a plain INSERT of
  the same row into a table with no head and no hash, with the same number of writers;
- verify (`watchkeeper audit verify`, one process and one per CPU) against HMAC-SHA256
  alone over the same canonical rows, in memory, with no database at all;
- export (`watchkeeper audit export`, its peak RSS read from the kernel) against the same
  command exporting nothing, and its rate against reading the rows without formatting them.

The million rows are chain rows computed here and bulk-inserted (not a million transactions).
`BENCH_AUDIT_ROWS` changes that count; `WATCHKEEPER_BENCH_PG` the PostgreSQL server used.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import yaml
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text, insert, update

from bench.report import Figure, Target, print_figures
from bench.sizes import PG_ADMIN, scaled_count
from bot.audit.actors import Actor
from bot.audit.hash_chain import KeyRing, at_text, row_text
from bot.audit.models import GENESIS_HASH, HEAD, LOG
from bot.audit.stream import chain_query, stream_query
from bot.audit.writer import append
from bot.db.engine import create_engine, session_factory
from bot.db.migrate import upgrade
from bot.db.types import UTCDateTime

TITLE = "Audit log: append, verify, export"
ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-audit-key-0123456789abcdef"
ROWS = int(os.environ.get("BENCH_AUDIT_ROWS", scaled_count(1_000_000, 2_000)))
APPENDS_PER_WRITER = scaled_count(500, 20)
EXPORT_RSS_MIB = 150e6 / 2**20  # the target: an export of any size in under 150 MB
PARAMS = '{"args":["pg-orders-%d"],"reason":"disk almost full","risk":"medium"}'

# The baseline writers' table: the audit row's shape, no head, no hash chain.
plain = Table(
    "bench_plain",
    MetaData(),
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    *(Column(name, Text) for name in ("actor", "actor_name", "action", "target", "params")),
    Column("outcome", String(40)),
    Column("ref", String(300)),
    Column("at", UTCDateTime()),
)


# Writers: run as `python -m bench.bench_audit writer URL MODE ROWS NAME`.


async def _writer(url: str, mode: str, rows: int, name: str) -> None:
    engine = create_engine(url)
    sessions = session_factory(engine)
    keys = KeyRing.of([KEY])
    async with engine.connect():
        pass
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(rows):
        async with sessions() as session, session.begin():
            row = {
                "action": "command.invoked",
                "target": f"pg-orders-{i % 240}",
                "outcome": "accepted",
                "ref": f"op:{i}",
            }
            if mode == "audit":
                await append(
                    session,
                    key=keys,
                    actor=Actor(name, name),
                    params={"i": i, "reason": "bench"},
                    action=row["action"],
                    target=row["target"],
                    outcome=row["outcome"],
                    ref=row["ref"],
                )
            else:
                values = {"actor": name, "actor_name": name, "at": datetime.now(UTC), **row}
                params_text = f'{{"i":{i},"reason":"bench"}}'
                await session.execute(insert(plain).values(params=params_text, **values))
    await engine.dispose()


def _append_rate(url: str, mode: str, writers: int) -> float:
    command = [sys.executable, "-m", "bench.bench_audit", "writer", url, mode]
    procs = [
        subprocess.Popen(
            [*command, str(APPENDS_PER_WRITER), f"cli:w{n}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for n in range(writers)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    if any(p.wait() != 0 for p in procs):
        raise RuntimeError(f"a {mode} writer failed")
    return writers * APPENDS_PER_WRITER / (time.perf_counter() - started)


# The million rows.


def chain_rows(count: int) -> Iterator[dict[str, Any]]:
    key = KeyRing.of([KEY]).current
    prev = GENESIS_HASH
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for seq in range(1, count + 1):
        at = start + timedelta(seconds=seq * 2.5)
        row: dict[str, Any] = {
            "seq": seq,
            "at": at,
            "actor": "UALICE01",
            "actor_name": "alice",
            "action": "command.invoked",
            "target": f"pg-orders-{seq % 240}",
            "params": PARAMS % (seq % 240),
            "outcome": "accepted",
            "ref": f"op:{seq}",
            "key_id": key.key_id,
        }
        row["prev_hash"], row["hash"] = prev, key.mac(prev, _text(row))
        prev = row["hash"]
        yield row


def _text(row: dict[str, Any]) -> str:
    fields = ("actor", "actor_name", "action", "target", "params", "outcome", "ref", "key_id")
    return row_text(row["seq"], at_text(row["at"]), *(row[f] for f in fields))


def _batches(count: int, size: int = 20_000) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in chain_rows(count):
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def _load_sqlite(url: str, count: int) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    last: dict[str, Any] = {}
    for batch in _batches(count):
        async with engine.begin() as conn:
            await conn.execute(insert(LOG), batch)
        last = batch[-1]
    async with engine.begin() as conn:
        await conn.execute(update(HEAD).values(seq=last["seq"], hash=last["hash"]))
    await engine.dispose()


def _load_postgresql(url: str, dsn: str, count: int) -> None:
    async def migrate() -> None:
        engine = create_engine(url)
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate())
    columns = [c.name for c in LOG.columns]
    last: dict[str, Any] = {}
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY audit_log ({', '.join(columns)}) FROM STDIN") as copy:
            for batch in _batches(count):
                for row in batch:
                    copy.write_row([row[c] for c in columns])
                last = batch[-1]
        cur.execute("UPDATE audit_head SET seq = %s, hash = %s", (last["seq"], last["hash"]))
        cur.execute("ANALYZE audit_log")


def _hmac_rate(count: int = scaled_count(200_000, 2_000)) -> float:
    """HMAC-SHA256 over the same canonical rows with the standard library, nothing else."""
    messages = [(row["prev_hash"] + _text(row)).encode() for row in chain_rows(count)]
    key = KEY.encode()
    started = time.perf_counter()
    for message in messages:
        hmac.new(key, message, hashlib.sha256).hexdigest()
    return count / (time.perf_counter() - started)


async def _read_rate(url: str) -> float:
    engine = create_engine(url)
    count = 0
    started = time.perf_counter()
    async with engine.connect() as conn, stream_query(conn, chain_query(conn.dialect.name)) as b:
        async for rows in b:
            count += len(rows)
    rate = count / (time.perf_counter() - started)
    await engine.dispose()
    return rate


# Linux carries a process's peak RSS across exec, and a child forked from this (large)
# process would report this process's peak as its own. A small launcher in between makes
# the figure the command's own: it starts the command and reports what wait4 says of it.
LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[3:], stdout=open(sys.argv[1], "w"), stderr=open(sys.argv[2], "w"))
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def _cli(config: Path, *args: str) -> tuple[str, float, float]:
    """Run `watchkeeper ...`; (stdout's start, seconds, peak RSS in MiB of that command)."""
    env = {**os.environ, "WATCHKEEPER_AUDIT_KEY": KEY}
    command = [sys.executable, "-m", "bot.cli", *args, "--config", str(config)]
    with tempfile.NamedTemporaryFile("r") as out, tempfile.NamedTemporaryFile("r") as errors:
        started = time.perf_counter()
        report = subprocess.run(
            [sys.executable, "-c", LAUNCHER, out.name, errors.name, *command],
            capture_output=True, text=True, cwd=ROOT, env=env, check=True,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        code, max_rss_kb = (int(x) for x in report.stdout.split())
        if code != 0:
            said = "\n".join(errors.read().splitlines()[-10:])
            raise RuntimeError(f"watchkeeper {' '.join(args)} exited {code}:\n{said}")
        head = out.read(4096)
    return head, seconds, max_rss_kb / 1024


def _config(tmp: Path, url: str) -> Path:
    raw = yaml.safe_load((ROOT / "app.yaml").read_text())
    raw["storage"]["url"] = url
    raw["audit"]["checkpoint_file"] = None
    path = tmp / f"app-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _dialect_figures(
    label: str, url: str, tmp: Path, load: Any, hmac_rate: float
) -> Iterator[Figure]:
    started = time.perf_counter()
    load()
    loaded = time.perf_counter() - started
    print(f"{label}: {ROWS:,} chain rows bulk-loaded in {loaded:.0f} s", flush=True)
    config = _config(tmp, url)
    for jobs in (1, os.cpu_count() or 1):
        out, _, rss = _cli(config, "audit", "verify", "--jobs", str(jobs))
        found = re.search(r"\(([\d,]+) rows/s\)", out)
        if found is None or "intact" not in out:
            raise RuntimeError(f"verify did not pass: {out}")
        rate = float(found.group(1).replace(",", ""))
        name = f"{label} verify {ROWS:,} rows, {jobs} process(es)"
        yield from [
            Figure(name, rate, "rows/s", "HMAC-SHA256 alone", hmac_rate, Target(200_000)),
            Figure(f"{name}, peak RSS", rss, "MiB", higher_is_better=False),
        ]
    _, _, idle_rss = _cli(config, "audit", "export", "--since", "2100-01-01")
    read_rate = asyncio.run(_read_rate(url))
    for fmt in ("jsonl", "csv"):
        _, seconds, rss = _cli(config, "audit", "export", "--format", fmt)
        name = f"{label} export {ROWS:,} rows as {fmt}"
        yield from [
            Figure(f"{name}, peak RSS", rss, "MiB", "same command, 0 rows", idle_rss,
                   Target(EXPORT_RSS_MIB), higher_is_better=False),
            Figure(f"{name}, rate", ROWS / seconds, "rows/s", "reading them unformatted",
                   read_rate),
        ]  # fmt: skip


def _append_figures(label: str, url: str) -> list[Figure]:
    async def prepare() -> None:
        engine = create_engine(url)
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.run_sync(plain.metadata.create_all)
        await engine.dispose()

    asyncio.run(prepare())
    figures = []
    for writers in (1, 2):
        audit = _append_rate(url, "audit", writers)
        baseline = _append_rate(url, "plain", writers)
        name = f"{label} append, {writers} writer(s)"
        figures.append(Figure(name, audit, "rows/s", "plain INSERT, no head or hash", baseline))
    return figures


def _pg_database() -> tuple[str, str, str] | None:
    name = f"wk_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL not reachable at {PG_ADMIN} ({exc}); its figures are skipped")
        return None
    dsn = f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    return name, dsn, dsn.replace("postgresql://", "postgresql+psycopg://", 1)


def _drop_pg(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run() -> Iterator[Figure]:
    hmac_rate = _hmac_rate()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        yield from _append_figures("SQLite", f"sqlite+aiosqlite:///{tmp}/append.db")
        big = f"sqlite+aiosqlite:///{tmp}/million.db"
        yield from _dialect_figures(
            "SQLite", big, tmp, lambda: asyncio.run(_load_sqlite(big, ROWS)), hmac_rate
        )
        yield from _postgresql_figures(tmp, hmac_rate)


def _postgresql_figures(tmp: Path, hmac_rate: float) -> Iterator[Figure]:
    made = _pg_database()
    if made is None:
        return
    name, _, url = made
    try:
        yield from _append_figures("PostgreSQL", url)
    finally:
        _drop_pg(name)
    made = _pg_database()
    if made is None:
        return
    name, dsn, url = made
    try:
        load = lambda: _load_postgresql(url, dsn, ROWS)  # noqa: E731
        yield from _dialect_figures("PostgreSQL", url, tmp, load, hmac_rate)
    finally:
        _drop_pg(name)


if __name__ == "__main__":
    if sys.argv[1:2] == ["writer"]:
        url, mode, rows, name = sys.argv[2:6]
        asyncio.run(_writer(url, mode, int(rows), name))
    else:
        print_figures(TITLE, run())
