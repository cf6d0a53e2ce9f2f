"""Shared pieces of the incident tests: pages as Alertmanager would send them, a clock the
tests move, and readers of what the channel shows and what the database holds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bot.audit.models import AuditEntry
from bot.db.models import PostedMessage
from bot.incidents.models import Incident, PageRecord
from bot.runtime import Runtime
from integrations.pages import Page, PageBatch
from standins.slack import Message, StandInState

EPOCH = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
CHANNEL = "C0DEMO001"


class Clock:
    """The bot's "now", moved by the test."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def page(
    dedup_key: str,
    *,
    alertname: str = "PostgresReplicationLag",
    service: str | None = "pg-orders",
    status: str = "firing",
    severity: str = "critical",
    region: str | None = "eu-west-1",
    starts_at: datetime = EPOCH,
    **labels: str,
) -> Page:
    all_labels = {"alertname": alertname, **labels}
    if service:
        all_labels["service"] = service
    if region:
        all_labels["region"] = region
    return Page(
        source="alertmanager",
        dedup_key=dedup_key,
        status=status,  # type: ignore[arg-type]
        severity=severity,  # type: ignore[arg-type]
        title=alertname,
        service=service,
        kind="postgres" if service and service.startswith("pg-") else None,
        labels=all_labels,
        summary=f"{alertname} on {service}",
        runbook_url="https://runbooks.example/replication-lag",
        starts_at=starts_at,
    )


def resolved(p: Page) -> Page:
    return p.model_copy(update={"status": "resolved", "ends_at": p.starts_at})


def batch(*pages: Page, delivery_id: str | None = None) -> PageBatch:
    return PageBatch(pages=list(pages), delivery_id=delivery_id)


def roots(state: StandInState, channel: str = CHANNEL) -> list[Message]:
    return [m for m in state.messages(channel) if m.thread_ts is None]


def replies(state: StandInState, root: Message) -> list[Message]:
    return [m for m in state.messages(root.channel) if m.thread_ts == root.ts]


def block_text(blocks: list[dict[str, Any]]) -> str:
    """Every text of a message's blocks, flattened, for assertions on what it shows."""
    out: list[str] = []
    for block in blocks:
        for key in ("text",):
            if isinstance(block.get(key), dict):
                out.append(str(block[key].get("text", "")))
        for item in block.get("fields") or []:
            out.append(str(item.get("text", "")))
        for element in block.get("elements") or []:
            text = element.get("text")
            out.append(str(text.get("text", "")) if isinstance(text, dict) else str(text or ""))
    return "\n".join(out)


def buttons(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        e["text"]["text"]
        for b in blocks
        for e in b.get("elements") or []
        if e.get("type") == "button"
    ]


async def incidents(rt: Runtime) -> list[Incident]:
    async with rt.sessions() as session:
        return list(await session.scalars(select(Incident).order_by(Incident.id)))


async def page_count(rt: Runtime) -> int:
    async with rt.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(PageRecord)) or 0)


async def audit_rows(rt: Runtime, action: str) -> list[AuditEntry]:
    async with rt.sessions() as session:
        return list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
            )
        )


async def recorded(rt: Runtime, key: str, within: float = 10.0) -> str:
    """The ts of the keyed message once the outbox recorded it (replies and @mentions in
    its thread can only be matched to it from then on)."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        async with rt.sessions() as session:
            posted = await session.get(PostedMessage, key)
        if posted is not None:
            return posted.ts
        await asyncio.sleep(0.02)
    raise AssertionError(f"{key} was not recorded within {within}s")


async def settle(rt: Runtime) -> None:
    """Follow-up fleet reads done; the outbox told to deliver."""
    await rt.background.drain()
    rt.wake_outbox()
