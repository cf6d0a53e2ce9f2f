"""A durable page sink for the intake benchmark's `table` mode: intake alone.

It commits every page of a batch as a row in one transaction before returning, which is
the floor of what the real sink (`bot.incidents.ingest`) must do.
"""

from __future__ import annotations

import json

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime import Runtime
from integrations.pages import PageBatch

metadata = MetaData()
bench_pages = Table(
    "bench_intake_pages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(40), nullable=False),
    Column("dedup_key", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("title", String(300), nullable=False),
    Column("service", String(200)),
    Column("labels", Text, nullable=False),
    Column("summary", Text, nullable=False),
    Column("starts_at", DateTime(timezone=True)),
)


class TableSink:
    """Stores each page as a row; one transaction per batch."""

    async def prepare(self, engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    async def __call__(self, rt: Runtime, batch: PageBatch, /) -> int:
        rows = [
            {
                "source": p.source,
                "dedup_key": p.dedup_key,
                "status": p.status,
                "severity": p.severity,
                "title": p.title,
                "service": p.service,
                "labels": json.dumps(p.labels, sort_keys=True),
                "summary": p.summary,
                "starts_at": p.starts_at,
            }
            for p in batch.pages
        ]
        async with rt.engine.begin() as conn:
            await conn.execute(insert(bench_pages), rows)
        return len(rows)
