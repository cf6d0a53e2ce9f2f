"""Streaming the log out for a SIEM: JSON Lines or CSV, one batch in memory at a time.

Each JSON line is the row as canonical JSON (sorted keys, `params` as an object), with
`prev_hash` and `hash`, so a receiver holding the key can re-verify what it ingested:
`hash == HMAC-SHA256(key, prev_hash || line without prev_hash and hash)`.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring as _quote
from typing import Any, Literal, TextIO

from sqlalchemy import ColumnElement, or_
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.audit.models import LOG
from bot.audit.stream import BATCH, chain_query, stream_query

Format = Literal["jsonl", "csv"]
CSV_FIELDS = (
    "seq",
    "at",
    "actor",
    "actor_name",
    "action",
    "target",
    "params",
    "outcome",
    "ref",
    "key_id",
    "prev_hash",
    "hash",
)


# A campaign's id as bot.campaigns makes it (`cmp-` and 8 hex digits).
CAMPAIGN_ID = re.compile(r"cmp-[0-9a-f]{8}")


@dataclass(frozen=True)
class ExportFilter:
    """Rows with `since <= at < until`, by one actor id and/or one target; None: any."""

    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    target: str | None = None
    # One campaign's rows: its lifecycle (ref: the campaign id) and every target's action
    # (params name the campaign). The id is checked by the caller (`CAMPAIGN_ID`), so it
    # holds no LIKE wildcard.
    campaign: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        c = LOG.c
        found: list[ColumnElement[bool]] = []
        if self.since is not None:
            found.append(c.at >= self.since)
        if self.until is not None:
            found.append(c.at < self.until)
        if self.actor is not None:
            found.append(c.actor == self.actor)
        if self.target is not None:
            found.append(c.target == self.target)
        if self.campaign is not None:
            if not CAMPAIGN_ID.fullmatch(self.campaign):
                raise ValueError(f"not a campaign id: {self.campaign!r}")
            named = c.params.like(f'%"campaign":"{self.campaign}"%')
            found.append(or_(c.ref == self.campaign, named))
        return found


def jsonl_line(row: Any) -> str:
    seq, at, actor, name, action, target, params, outcome, ref, kid, prev, hash_ = row
    ref_json = "null" if ref is None else _quote(ref)
    return (
        f'{{"action":{_quote(action)},"actor":{_quote(actor)},"actor_name":{_quote(name)},'
        f'"at":{_quote(at)},"hash":"{hash_}","key_id":{_quote(kid)},"outcome":{_quote(outcome)},'
        f'"params":{params},"prev_hash":"{prev}","ref":{ref_json},"seq":{seq},'
        f'"target":{_quote(target)}}}\n'
    )


async def export_entries(
    conn: AsyncConnection,
    out: TextIO,
    *,
    fmt: Format = "jsonl",
    where: ExportFilter = ExportFilter(),
    batch: int = BATCH,
) -> int:
    """Write the matching rows to `out` in seq order; returns how many were written."""
    written = 0
    writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_FIELDS)
    query = chain_query(conn.dialect.name, *where.conditions())
    async with stream_query(conn, query, batch) as batches:
        async for rows in batches:
            if writer is not None:
                writer.writerows(tuple("" if v is None else v for v in row) for row in rows)
            else:
                out.write("".join(map(jsonl_line, rows)))
            written += len(rows)
    return written
