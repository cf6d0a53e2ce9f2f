"""Pages go into the table exactly as they came, on both databases: PostgreSQL stores a
batch as one JSON document and SQLite as rows, so text that JSON or SQL could mangle
(quotes, backslashes, control characters, unicode) and optional fields are checked."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.config import parse_config
from bot.incidents.models import PageRecord
from bot.incidents.pagestore import insert_new, prepare
from integrations.pages import Page
from tests.conftest import base_config

NOW = datetime(2026, 3, 29, 1, 30, 0, 123456, tzinfo=UTC)
AWKWARD = (
    'quote " apostrophe \' backslash \\ \\u0041 tab\t newline\n unit\x1f {"json": [1]} Zoë 数据 🔥'
)


def pages() -> list[Page]:
    return [
        Page(
            source="alertmanager",
            dedup_key="fp-1",
            status="firing",
            severity="critical",
            title=AWKWARD[:300],
            service="pg-orders",
            kind="postgres",
            labels={"alertname": "Lag", "note": AWKWARD, "ünïcode": "✓"},
            summary=AWKWARD * 10,
            description="d" * 3000,
            runbook_url="https://runbooks/lag?a=1&b=%22",
            source_url="http://prometheus/graph?g0.expr=up%7Bjob%3D%22x%22%7D",
            # Another offset than UTC, and microseconds: both must survive.
            starts_at=datetime(2026, 3, 29, 3, 59, 59, 999999, tzinfo=timezone(timedelta(hours=2))),
            ends_at=None,
        ),
        # Every optional field left out.
        Page(source="generic", dedup_key="x" * 200, status="resolved", title="t"),
    ]


async def test_pages_are_stored_as_they_came_and_only_once(engine: AsyncEngine) -> None:
    config = parse_config(base_config(), {})
    items = prepare(config, pages())
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session, session.begin():
        ids = await insert_new(session, items, NOW, "delivery-1", dialect=engine.dialect.name)
    assert set(ids) == {item.identity for item in items}

    async with sessions() as session:
        stored = {r.id: r for r in await session.scalars(select(PageRecord))}
    assert set(stored) == set(ids.values())
    for item in items:
        row, page = stored[ids[item.identity]], item.page
        assert (row.source, row.dedup_key, row.epoch, row.status) == item.identity
        assert (row.title, row.summary, row.description) == (
            page.title, page.summary, page.description)  # fmt: skip
        assert (row.service, row.kind, row.runbook_url, row.source_url) == (
            page.service, page.kind, page.runbook_url, page.source_url)  # fmt: skip
        assert json.loads(row.labels) == page.labels
        assert (row.starts_at, row.ends_at) == (page.starts_at, page.ends_at)
        assert (row.received_at, row.delivery_id) == (NOW, "delivery-1")
        assert (row.group_hash, row.incident_id) == (item.group_hash, None)

    # The same pages again: nothing new, nothing changed.
    async with sessions() as session, session.begin():
        again = await insert_new(session, items, NOW + timedelta(minutes=1), "delivery-2",
                                 dialect=engine.dialect.name)  # fmt: skip
    assert again == {}


async def test_a_naive_time_is_refused_on_both_databases(engine: AsyncEngine) -> None:
    naive = Page(source="generic", dedup_key="n", status="firing", title="t",
                 starts_at=datetime(2026, 3, 29, 3, 0))  # fmt: skip
    items = prepare(parse_config(base_config(), {}), [naive])
    async with async_sessionmaker(engine)() as session, session.begin():
        with pytest.raises(Exception, match="naive datetime stored"):
            await insert_new(session, items, NOW, None, dialect=engine.dialect.name)
