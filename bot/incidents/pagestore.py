"""Storing pages: one INSERT per batch that skips what is already there, and the lookup
of each new page's other half (the firing page a resolution closes, and vice versa).

The INSERT comes first in the ingest transaction (after the unit of work starts it) on purpose: on
PostgreSQL a concurrent insert of the same page waits for ours and then inserts nothing,
so each page is processed by exactly one transaction, before anything else is read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import String, Table, Text, bindparam, column, func, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.db.types import as_utc
from bot.incidents.grouping import epoch_of, group_key, hash_key
from bot.incidents.models import PageDelivery, PageRecord
from bot.incidents.routing import Destination, route_page
from integrations.pages import Page

Identity = tuple[str, str, str, str]  # source, dedup_key, epoch, status
AlertKey = tuple[str, str, str]  # source, dedup_key, epoch
CHUNK = 200  # rows per INSERT: far below SQLite's bound-parameter limit


@dataclass(frozen=True)
class Prepared:
    """A page with everything computed before the transaction: identity, group, route."""

    page: Page
    epoch: str
    group_key: str
    group_hash: str
    destination: Destination | None

    @property
    def identity(self) -> Identity:
        return (self.page.source, self.page.dedup_key, self.epoch, self.page.status)

    @property
    def alert(self) -> AlertKey:
        return (self.page.source, self.page.dedup_key, self.epoch)

    @property
    def firing(self) -> bool:
        return self.page.status == "firing"


def prepare(config: Config, pages: Sequence[Page]) -> list[Prepared]:
    """Prepared pages, a page repeated within the batch kept once."""
    seen: set[Identity] = set()
    out: list[Prepared] = []
    for page in pages:
        key = group_key(page, config.grouping.keys)
        item = Prepared(page, epoch_of(page), key, hash_key(key), route_page(config, page))
        if item.identity not in seen:
            seen.add(item.identity)
            out.append(item)
    return out


def _row(item: Prepared, now: datetime, delivery_id: str | None) -> dict[str, Any]:
    page = item.page
    return {
        "source": page.source,
        "dedup_key": page.dedup_key,
        "epoch": item.epoch,
        "status": page.status,
        "severity": page.severity,
        "title": page.title,
        "service": page.service,
        "kind": page.kind,
        "labels": json.dumps(page.labels, sort_keys=True, separators=(",", ":")),
        "summary": page.summary,
        "description": page.description,
        "runbook_url": page.runbook_url,
        "source_url": page.source_url,
        "starts_at": page.starts_at,
        "ends_at": page.ends_at,
        "received_at": now,
        "delivery_id": delivery_id,
        "group_hash": item.group_hash,
        "incident_id": None,
    }


_PAGES = cast(Table, PageRecord.__table__)
_PAGE_COLUMNS = [c.name for c in _PAGES.c if c.name != "id"]
_PAGE_IDENTITY = ["dedup_key", "source", "epoch", "status"]
_RETURNED = (_PAGES.c.id, _PAGES.c.source, _PAGES.c.dedup_key, _PAGES.c.epoch, _PAGES.c.status)
_SQLITE_INSERT = (
    sqlite.insert(_PAGES)
    .on_conflict_do_nothing(index_elements=_PAGE_IDENTITY)
    .returning(*_RETURNED)
)


def _json_time(value: object) -> str:
    # The JSON batch skips the column types' own binding, so their rule is applied here.
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    raise TypeError(f"{type(value).__name__} is not stored in a page row")


# Strings are read as text: a varchar(n) there would cut an overlong value silently, where
# the column itself refuses it.
_BATCH = (
    func.json_to_recordset(sql_cast(bindparam("batch", type_=Text), postgresql.JSON))
    .table_valued(
        *(
            column(name, Text() if isinstance(_PAGES.c[name].type, String) else _PAGES.c[name].type)
            for name in _PAGE_COLUMNS
        )
    )
    .render_derived(name="batch", with_types=True)
)
_PG_INSERT = (
    postgresql.insert(_PAGES)
    .from_select(_PAGE_COLUMNS, select(*(_BATCH.c[name] for name in _PAGE_COLUMNS)))
    .on_conflict_do_nothing(index_elements=_PAGE_IDENTITY)
    .returning(*_RETURNED)
)


async def insert_new(
    session: AsyncSession,
    items: list[Prepared],
    now: datetime,
    delivery_id: str | None,
    *,
    dialect: str,
) -> dict[Identity, int]:
    """Insert every page not stored yet; the ids of those that were new, by identity."""
    new: dict[Identity, int] = {}
    rows = [_row(item, now, delivery_id) for item in items]
    if dialect == "postgresql":
        # The batch as one JSON document: a short statement whatever the batch size, which
        # psycopg parses once and caches (it re-parses any statement of over 50
        # parameters), and one parameter encoded by the json module's C code.
        batch = json.dumps(rows, default=_json_time, separators=(",", ":"))
        result = await session.execute(_PG_INSERT, {"batch": batch})
    else:
        # executemany form: SQLAlchemy batches it into multi-row INSERTs from one cached
        # compilation (a `.values(rows)` statement is compiled anew for every batch).
        result = await session.execute(_SQLITE_INSERT, rows)
    for row in result:
        new[(row.source, row.dedup_key, row.epoch, row.status)] = int(row.id)
    return new


def _insert(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    # ON CONFLICT DO NOTHING is spelt the same by both, but lives in each dialect.
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


async def first_delivery(
    session: AsyncSession, source: str, delivery_id: str, now: datetime, *, dialect: str
) -> bool:
    """Record a delivery id; False when it was recorded before (a replay)."""
    table = cast(Table, PageDelivery.__table__)
    statement = (
        _insert(dialect, table)
        .values(source=source, delivery_id=delivery_id, received_at=now)
        .on_conflict_do_nothing(index_elements=["source", "delivery_id"])
        .returning(table.c.source)
    )
    return (await session.execute(statement)).first() is not None


@dataclass(frozen=True)
class Counterpart:
    status: str
    incident_id: int | None


async def counterparts(
    session: AsyncSession, items: list[Prepared], new_ids: set[int]
) -> dict[AlertKey, list[Counterpart]]:
    """Pages stored earlier for the same alerts (same source, dedup key and epoch)."""
    wanted = {item.alert for item in items}
    by_source: dict[str, set[str]] = {}
    for source, dedup_key, _epoch in wanted:
        by_source.setdefault(source, set()).add(dedup_key)
    found: dict[AlertKey, list[Counterpart]] = {}
    table = cast(Table, PageRecord.__table__)
    for source, keys in by_source.items():
        # dedup_key IN, source =: the UNIQUE index's leading columns, an index scan even on
        # a fresh table (a row-value IN over three columns is planned far worse).
        ordered = sorted(keys)
        for start in range(0, len(ordered), CHUNK):
            rows = await session.execute(
                select(
                    table.c.id, table.c.dedup_key, table.c.epoch, table.c.status,
                    table.c.incident_id,
                ).where(
                    table.c.dedup_key.in_(ordered[start : start + CHUNK]),
                    table.c.source == source,
                )
            )  # fmt: skip
            for row in rows:
                key = (source, row.dedup_key, row.epoch)
                if key in wanted and int(row.id) not in new_ids:
                    found.setdefault(key, []).append(Counterpart(row.status, row.incident_id))
    return found
