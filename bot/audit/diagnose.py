"""Naming what went wrong at the first row that fails verification.

The fast path in `verify` only knows that a row does not fit. This module looks around it
(the next rows, and the rows its hashes point to) to tell a reviewer which row and why:

- `missing`: a row was deleted (a gap in seq, or later rows renumbered to hide it);
- `edited`: a field changed after the row was written (seq, prev_hash and hash included);
- `reordered`: the row holds an entry that was written at another seq;
- `inserted`: the row was never part of the chain (the next row skips it);
- `bad key`: nothing verifies with the configured keys (wrong key, or the table re-signed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.audit.hash_chain import ChainKey, row_text
from bot.audit.models import GENESIS_HASH, LOG
from bot.audit.stream import ChainRow, chain_columns

# How far a moved row may have travelled and still be recognised by trying seqs nearby.
SEQ_WINDOW = 64
BAD_KEY_SAMPLE = 8


@dataclass(frozen=True)
class Problem:
    """The first row that does not verify, and what happened to it."""

    seq: int
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"row {self.seq}: {self.kind}: {self.detail}"


def signs(
    keys: dict[str, ChainKey], row: ChainRow, *, seq: int | None = None, prev: str | None = None
) -> bool:
    """Does `row` verify, optionally as if it had another seq or predecessor?"""
    key = keys.get(row[9])
    if key is None:
        return False
    text = row_text(row[0] if seq is None else seq, *row[1:10])
    return bool(key.mac(row[10] if prev is None else prev, text) == row[11])


def written_as(keys: dict[str, ChainKey], row: ChainRow, hint: int | None = None) -> int | None:
    """The seq a renumbered row was written with, if it is near its place (or `hint`)."""
    here = int(row[0])
    candidates = [hint] if hint is not None else []
    for step in range(1, SEQ_WINDOW + 1):
        candidates += [here + step, here - step]
    return next((s for s in candidates if s != here and signs(keys, row, seq=s)), None)


def genuine(keys: dict[str, ChainKey], row: ChainRow) -> bool:
    """Signed by a known key, even if inserts or deletes before it shifted its seq."""
    return signs(keys, row) or written_as(keys, row) is not None


async def _seq_of_hash(conn: AsyncConnection, hash_: str) -> int | None:
    found = await conn.scalar(select(LOG.c.seq).where(LOG.c.hash == hash_).limit(1))
    return None if found is None else int(found)


async def _successor(conn: AsyncConnection, prev: str) -> Row[Any] | None:
    """A row chained right after the row whose hash is `prev`, wherever it now sits."""
    stmt = select(*chain_columns(conn.dialect.name)).where(LOG.c.prev_hash == prev).limit(1)
    return (await conn.execute(stmt)).first()


async def _gap(
    conn: AsyncConnection, keys: dict[str, ChainKey], row: ChainRow, expected: int, prev: str | None
) -> Problem:
    seq = int(row[0])
    if prev is not None:
        moved = await _successor(conn, prev)
        if moved is not None and signs(keys, moved, seq=expected):
            return Problem(expected, "edited", f"its seq was changed to {moved[0]}")
    span = f"row {expected} is" if seq == expected + 1 else f"rows {expected}–{seq - 1} are"
    return Problem(expected, "missing", f"{span} not in the log (deleted)")


async def _before_start(
    conn: AsyncConnection, keys: dict[str, ChainKey], row: ChainRow, expected: int
) -> Problem:
    """A row numbered below the first one due: a renumbered row, or one made up."""
    seq = int(row[0])
    predecessor = await _seq_of_hash(conn, row[10])
    origin = predecessor + 1 if predecessor is not None else 1 if row[10] == GENESIS_HASH else None
    if origin is not None and signs(keys, row, seq=origin):
        return Problem(origin, "edited", f"its seq was changed to {seq}")
    return Problem(seq, "inserted", f"the chain starts at row {expected}")


async def diagnose(
    conn: AsyncConnection,
    keys: dict[str, ChainKey],
    row: ChainRow,
    *,
    expected: int,
    prev: str | None,
    lookahead: Sequence[ChainRow],
    first_checked: bool,
    head_seq: int,
) -> Problem:
    """Why `row` (met where row `expected`, following hash `prev`, was due) fails."""
    seq = int(row[0])
    if seq > expected:
        return await _gap(conn, keys, row, expected, prev)
    if seq < expected:
        return await _before_start(conn, keys, row, expected)
    nxt = lookahead[0] if lookahead else None
    links = prev is None or row[10] == prev
    if links and nxt is not None and nxt[10] == row[10] and nxt[10] != row[11]:
        skipped = f"not part of the chain: row {seq + 1} follows row {seq - 1}"
        return Problem(seq, "inserted", skipped)
    if row[9] not in keys and any(r[9] == row[9] for r in lookahead):
        return Problem(
            seq,
            "bad key",
            f"rows from here on are signed with key id {row[9]}, which is not configured "
            "(a retired key missing from audit.previous_keys?)",
        )
    # A few rows suffice to tell a wrong key from a local change, and each costs up to
    # 2 * SEQ_WINDOW hashes when nothing verifies.
    sample = lookahead[:BAD_KEY_SAMPLE]
    nothing_verifies = bool(sample) and not any(genuine(keys, r) for r in sample)
    if nothing_verifies and (first_checked or row[9] not in keys):
        known = ", ".join(sorted(keys))
        return Problem(
            seq,
            "bad key",
            f"no row from here on verifies with the configured keys (key ids {known}); "
            "the key is wrong, or the table was re-signed with another key",
        )
    if links:
        if nxt is None and seq > head_seq:
            beyond = f"beyond the chain head (row {head_seq}) and not signed"
            return Problem(seq, "inserted", beyond)
        return Problem(seq, "edited", "its fields do not match its hash")
    if prev is not None and signs(keys, row, prev=prev):
        return Problem(seq, "edited", "its prev_hash was changed")
    if signs(keys, row):
        return Problem(seq, "reordered", f"it was chained after another row than row {seq - 1}")
    predecessor = await _seq_of_hash(conn, row[10])
    origin = written_as(keys, row, None if predecessor is None else predecessor + 1)
    if origin is not None and predecessor is not None:
        return Problem(seq, "reordered", f"it holds the entry written as row {origin}")
    if origin is not None:
        return Problem(
            seq,
            "missing",
            f"row {seq} was deleted and the rows after it renumbered (this is row {origin})",
        )
    return Problem(seq, "edited", "its fields and its link to the previous row were changed")
