"""Two processes appending at once to one database build one chain: no fork, no gap."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.audit.models import LOG
from bot.audit.verifier import verify
from tests.test_audit_support import KEYS

ROWS_EACH = 500
ROOT = Path(__file__).resolve().parent.parent

# Each writer appends one row per transaction, as every caller of `append` does.
WRITER = """
import asyncio, sys
from bot.audit.actors import Actor
from bot.audit.writer import append
from bot.db.engine import create_engine, session_factory
from tests.test_audit_support import KEYS

async def main(url, name, rows):
    engine = create_engine(url)
    sessions = session_factory(engine)
    async with engine.connect():
        pass  # connected before the start signal, so both start writing together
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(rows):
        async with sessions() as session, session.begin():
            await append(session, key=KEYS, actor=Actor(name, name), action="bench.append",
                         target=f"t{i}", params={"i": i}, outcome="ok")
    await engine.dispose()

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


def _start(url: str, name: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, url, name, str(ROWS_EACH)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


async def test_two_processes_appending_together_build_one_unbroken_chain(
    engine: AsyncEngine, db_url: str
) -> None:
    writers = [_start(db_url, name) for name in ("cli:writer-a", "cli:writer-b")]
    try:
        for writer in writers:
            assert writer.stdout is not None
            assert (await asyncio.to_thread(writer.stdout.readline)).strip() == "ready"
        for writer in writers:
            assert writer.stdin is not None
            writer.stdin.write("go\n")
            writer.stdin.flush()
        codes = [await asyncio.to_thread(writer.wait, 120) for writer in writers]
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
    assert codes == [0, 0]
    async with engine.connect() as conn:
        rows = (await conn.execute(select(LOG.c.seq, LOG.c.actor).order_by(LOG.c.seq))).all()
        report = await verify(conn, KEYS)
    assert [seq for seq, _ in rows] == list(range(1, 2 * ROWS_EACH + 1))
    by_writer = Counter(actor for _, actor in rows)
    assert by_writer == {"cli:writer-a": ROWS_EACH, "cli:writer-b": ROWS_EACH}
    # Interleaved, not one after the other: the writers really did contend for the head.
    switches = sum(1 for a, b in itertools.pairwise(rows) if a[1] != b[1])
    assert switches > 10
    assert report.ok, report.problem
    assert report.rows_checked == 2 * ROWS_EACH
