"""Recomputing the chain: `verify` streams every row once and names the first bad one.

Memory stays at one batch whatever the table's size. Rows go through the dialect's fast
loop (`fastpath`); a row it does not accept is re-read and judged the canonical way, and
only if it really fails is it diagnosed. Besides each row's own hash and link, `verify`
checks the rows against the chain head and published checkpoints, which is what catches a
tail cut off cleanly (no row is wrong; some are simply gone).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.audit.diagnose import Problem, diagnose, signs
from bot.audit.fastpath import Cursor, fast_batches, feed
from bot.audit.hash_chain import ChainKey, KeyRing
from bot.audit.models import GENESIS_HASH
from bot.audit.published import Checkpoint
from bot.audit.stream import read_head, rows_after

LOOKAHEAD = 32


@dataclass(frozen=True)
class VerifyReport:
    rows_checked: int
    seconds: float
    first_seq: int | None
    last_seq: int | None
    checkpoints_checked: int
    problem: Problem | None
    last_hash: str | None = None
    # The last checkpoint that matched, for naming where a cut happened.
    matched: Checkpoint | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def rows_per_second(self) -> float:
        return self.rows_checked / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Checkpoints:
    pending: deque[Checkpoint]
    matched: Checkpoint | None = None
    checked: int = 0

    def next_seq(self) -> int:
        return self.pending[0].seq if self.pending else -1

    def check(self, seq: int, hash_: str) -> Problem | None:
        while self.pending and self.pending[0].seq == seq:
            checkpoint = self.pending.popleft()
            self.checked += 1
            if checkpoint.hash != hash_:
                after = self.matched.seq if self.matched else 0
                return _cut(after + 1, self.matched, checkpoint, f"but row {seq} has another hash")
            self.matched = checkpoint
        return None


def _cut(named: int, matched: Checkpoint | None, broken: Checkpoint, how: str) -> Problem:
    where = f"after checkpoint {matched.label()}" if matched else "before the first checkpoint"
    return Problem(
        named,
        "truncated",
        f"the log was cut {where}: checkpoint {broken.label()} records seq {broken.seq}, {how}",
    )


async def _judge(
    conn: AsyncConnection,
    cur: Cursor,
    keys: dict[str, ChainKey],
    marks: _Checkpoints,
    head_seq: int,
    after: int | None,
) -> Problem | None:
    """The row after the last accepted one, read canonically: accept it or name the fault."""
    rows = await rows_after(conn, after, 1 + LOOKAHEAD)
    row = rows[0]
    fits = row[0] == cur.expected and (cur.prev is None or row[10] == cur.prev) and signs(keys, row)
    if not fits:
        return await diagnose(
            conn,
            keys,
            row,
            expected=cur.expected,
            prev=cur.prev,
            lookahead=rows[1:],
            first_checked=cur.checked == 0,
            head_seq=head_seq,
        )
    if row[0] == cur.stop:
        problem = marks.check(row[0], row[11])
        if problem is not None:
            return problem
        cur.stop = marks.next_seq()
    cur.prev, cur.expected, cur.checked = row[11], cur.expected + 1, cur.checked + 1
    return None


async def verify(
    conn: AsyncConnection,
    keys: KeyRing,
    *,
    since: int | None = None,
    checkpoints: Sequence[Checkpoint] = (),
    timer: Callable[[], float] = time.perf_counter,
) -> VerifyReport:
    """Check rows from `since` (default: the first) to the end, against `checkpoints` too.

    From `since`, the first row's `prev_hash` is taken on trust; from the start it must be
    all zeros. `verify_in_processes` (bot.audit.parallel) splits a big table over CPUs.
    """
    started = timer()
    head = await read_head(conn)
    report = await verify_range(conn, keys, since=since, checkpoints=checkpoints, head=head)
    last = report.last_seq if report.last_seq is not None else max(1, since or 1) - 1
    problem = report.problem or tail_problem(report, head, checkpoints, last)
    return replace(report, problem=problem, seconds=timer() - started)


async def verify_range(
    conn: AsyncConnection,
    keys: KeyRing,
    *,
    since: int | None = None,
    until: int | None = None,
    checkpoints: Sequence[Checkpoint] = (),
    matched: Checkpoint | None = None,
    head: tuple[int, str] | None = None,
    timer: Callable[[], float] = time.perf_counter,
) -> VerifyReport:
    """Rows `since..until` on their own: no look at the head or what lies beyond `until`.

    `matched` is the last checkpoint known good before `since`, for naming a cut.
    """
    started = timer()
    start = max(1, since or 1)
    by_id = keys.by_id()
    in_range = (c for c in checkpoints if c.seq >= start and (until is None or c.seq <= until))
    marks = _Checkpoints(deque(sorted(in_range, key=_seq)), matched)
    cur = Cursor(start, None if since else GENESIS_HASH)
    cur.stop = marks.next_seq()
    problem: Problem | None = None
    # From the start there is no lower bound, so a row numbered 0 or below is seen too.
    async with fast_batches(conn, since=start if since else None, until=until) as batches:
        async for rows in batches:
            offset = 0
            while problem is None and offset < len(rows):
                index = feed(rows[offset:] if offset else rows, cur, by_id, conn.dialect.name)
                if index < 0:
                    break
                after = cur.expected - 1 if (cur.checked or since) else None
                head_seq = head[0] if head else 0
                problem = await _judge(conn, cur, by_id, marks, head_seq, after)
                offset += index + 1
            if problem is not None:
                break
    return VerifyReport(
        rows_checked=cur.checked,
        seconds=timer() - started,
        first_seq=start if cur.checked else None,
        last_seq=cur.expected - 1 if cur.checked else None,
        last_hash=cur.prev if cur.checked else None,
        checkpoints_checked=marks.checked,
        problem=problem,
        matched=marks.matched,
    )


def missing_rows(first: int, last: int) -> str:
    """`rows 98–100 are` / `row 100 is`: the rows a published head proves existed."""
    return f"row {last} is" if first == last else f"rows {first}–{last} are"


def _seq(checkpoint: Checkpoint) -> int:
    return checkpoint.seq


def tail_problem(
    report: VerifyReport,
    head: tuple[int, str] | None,
    checkpoints: Sequence[Checkpoint],
    last: int,
) -> Problem | None:
    """After the last row (`last`): is anything known to have existed beyond it?"""
    beyond = [c for c in checkpoints if c.seq > last]
    if beyond:
        newest = max(beyond, key=_seq)
        return _cut(
            last + 1,
            report.matched,
            newest,
            f"but the log ends at seq {last}: {missing_rows(last + 1, newest.seq)} missing",
        )
    if head is None:
        return Problem(last + 1, "missing", "the chain head row (audit_head) was deleted")
    head_seq, head_hash = head
    if head_seq > last:
        return Problem(
            last + 1, "missing", f"the chain head records seq {head_seq}, the log ends at {last}"
        )
    if report.rows_checked and head_seq == last and report.last_hash != head_hash:
        return Problem(last, "edited", "the chain head records another hash for this row")
    return None
