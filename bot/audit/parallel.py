"""Verifying a big table on several CPUs: contiguous seq ranges, one process each.

Each row's check needs only its own fields and the previous row's hash, so ranges verify
independently; the seams between them are checked here afterwards (the first row of a
range must link to the last row of the one before). Any fault at a seam is re-walked in
this process, so the report names the same row and reason as a single pass would.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.audit.config import AuditConfig
from bot.audit.hash_chain import KeyRing
from bot.audit.models import LOG
from bot.audit.published import Checkpoint
from bot.audit.stream import read_head
from bot.audit.verifier import VerifyReport, tail_problem, verify, verify_range
from bot.db.engine import create_engine

# Below this many rows per process, starting the processes costs more than it saves.
MIN_ROWS_PER_JOB = 100_000


def _ranges(first: int, last: int, jobs: int) -> list[tuple[int, int]]:
    size = -(-(last - first + 1) // jobs)
    return [(lo, min(lo + size - 1, last)) for lo in range(first, last + 1, size)]


async def _range_report(
    url: str, audit: AuditConfig, lo: int, hi: int | None, checkpoints: Sequence[Checkpoint]
) -> tuple[VerifyReport, str | None]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            first_prev = await conn.scalar(select(LOG.c.prev_hash).where(LOG.c.seq == lo))
            before = [c for c in checkpoints if c.seq < lo]
            report = await verify_range(
                conn,
                KeyRing.from_config(audit),
                since=lo if lo > 1 else None,
                until=hi,
                checkpoints=checkpoints,
                # Good if the ranges before are; if not, their fault is reported first.
                matched=max(before, key=lambda c: c.seq) if before else None,
            )
            return report, first_prev
    finally:
        await engine.dispose()


def _range_job(
    url: str, audit: AuditConfig, lo: int, hi: int | None, checkpoints: Sequence[Checkpoint]
) -> tuple[VerifyReport, str | None]:
    # A worker holds one batch of acyclic rows at a time; collections would only rescan it.
    gc.disable()
    return asyncio.run(_range_report(url, audit, lo, hi, checkpoints))


async def verify_in_processes(
    conn: AsyncConnection,
    url: str,
    audit: AuditConfig,
    *,
    jobs: int,
    since: int | None = None,
    checkpoints: Sequence[Checkpoint] = (),
) -> VerifyReport:
    """`verify`, spread over up to `jobs` processes when the table is big enough to gain.

    `url` is the database `conn` is connected to; each process opens its own connection,
    so (unlike `verify`) uncommitted changes on `conn` are not seen.
    """
    started = time.perf_counter()
    keys = KeyRing.from_config(audit)
    head = await read_head(conn)
    first = max(1, since or 1)
    last = await conn.scalar(select(func.max(LOG.c.seq))) or 0
    jobs = min(jobs, (last - first + 1) // MIN_ROWS_PER_JOB)
    if jobs <= 1:
        return await verify(conn, keys, since=since, checkpoints=checkpoints)
    ranges = _ranges(first, last, jobs)
    loop = asyncio.get_running_loop()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        # The last range stays open: rows appended meanwhile are checked like the rest.
        bounds = [(lo, None if i == len(ranges) - 1 else hi) for i, (lo, hi) in enumerate(ranges)]
        futures = [
            loop.run_in_executor(pool, _range_job, url, audit, lo, hi, checkpoints)
            for lo, hi in bounds
        ]
        results = await asyncio.gather(*futures)
    report = await _merge(conn, keys, results, bounds, checkpoints, head)
    return replace(report, seconds=time.perf_counter() - started)


async def _merge(
    conn: AsyncConnection,
    keys: KeyRing,
    results: list[tuple[VerifyReport, str | None]],
    bounds: list[tuple[int, int | None]],
    checkpoints: Sequence[Checkpoint],
    head: tuple[int, str] | None,
) -> VerifyReport:
    checked, marks, done = 0, 0, None
    for (lo, hi), (report, first_prev) in zip(bounds, results, strict=True):
        if done is not None and (done.last_seq != lo - 1 or done.last_hash != first_prev):
            # The seam does not hold: walk from the last good row so the fault is named
            # exactly as a single pass would name it.
            assert done.last_seq is not None
            report = await verify_range(
                conn,
                keys,
                since=done.last_seq,
                until=hi,
                checkpoints=checkpoints,
                matched=done.matched,
                head=head,
            )
            checked -= 1  # the trusted first row of the re-walk was already counted
        checked += report.rows_checked
        marks += report.checkpoints_checked
        matched = report.matched or (done.matched if done else None)
        merged = replace(
            report,
            rows_checked=checked,
            checkpoints_checked=marks,
            first_seq=bounds[0][0],
            matched=matched,
        )
        if report.problem is not None:
            return merged
        if report.rows_checked:
            done = merged
    if done is None:
        return await verify(conn, keys, since=bounds[0][0], checkpoints=checkpoints)
    assert done.last_seq is not None
    return replace(done, problem=tail_problem(done, head, checkpoints, done.last_seq))
