"""Shared pieces of the fault tests: simulated time that drives the bot and the Slack
stand-in together, Alertmanager deliveries, and the delivery report that compares what
the outbox holds with what Slack (the stand-in) was actually given."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from bot.audit.hash_chain import KeyRing
from bot.audit.verifier import verify
from bot.db.models import OutboxMessage
from bot.outbox.enqueue import SUPERSEDED
from tests.harness import BotHarness
from tests.intake_helpers import AM_TOKEN

PASS_TIMEOUT = 10.0  # real seconds one outbox pass may take (a hang costs one Slack timeout)


class SimulatedTime:
    """One "now" for the bot (a datetime) and the Slack stand-in (seconds), moved by the
    test. It starts at the real time, so the fleet simulator's timestamps stay comparable."""

    def __init__(self) -> None:
        self.start = datetime.now(UTC).replace(microsecond=0)
        self.elapsed = 0.0

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.elapsed)

    def seconds(self) -> float:
        return self.elapsed

    async def next_pass(self, h: BotHarness) -> None:
        """Wake the outbox worker and wait until it has made a pass at the current time."""
        try:
            async with asyncio.timeout(PASS_TIMEOUT):
                await h.bot.worker.next_pass()
        except TimeoutError:
            raise AssertionError("the outbox worker stalled") from None

    async def run(self, h: BotHarness, seconds: float, step: float) -> None:
        """Let `seconds` of simulated time pass, the worker making a pass at every step."""
        end = self.elapsed + seconds
        while self.elapsed < end:
            self.elapsed = min(end, self.elapsed + step)
            await self.next_pass(h)

    async def drain(self, h: BotHarness, *, pace: float, limit: float) -> float:
        """Move time until the outbox is empty, jumping over waits with nothing due.
        Returns the simulated seconds it took; fails after `limit` of them."""
        began = self.elapsed
        while await h.bot.worker.pending_count():
            assert self.elapsed - began <= limit, f"outbox not drained within {limit:g}s"
            due = await _next_due(h)
            ahead = (due - self.now()).total_seconds() if due is not None else pace
            self.elapsed += max(pace, ahead)
            await self.next_pass(h)
        return self.elapsed - began


async def _next_due(h: BotHarness) -> datetime | None:
    """When the earliest lane head may be tried again (only a lane's head is ever sent)."""
    heads: dict[str, datetime] = {}
    async with h.bot.runtime.sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.lane, OutboxMessage.next_attempt_at)
            .where(OutboxMessage.status.in_(("pending", "sending")))
            .order_by(OutboxMessage.id)
        )
        for lane, due in rows:
            heads.setdefault(lane, due)
    return min(heads.values(), default=None)


def alertmanager_delivery(service: str, alertname: str = "PostgresPrimaryDown") -> dict[str, Any]:
    """One firing alert for `service`, shaped like Alertmanager 0.25 sends it."""
    labels = {"alertname": alertname, "service": service, "severity": "critical"}
    alert = {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": f"{alertname} on {service}"},
        "startsAt": datetime.now(UTC).isoformat(),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "",
        "fingerprint": hashlib.sha256(f"{service}/{alertname}".encode()).hexdigest()[:16],
    }
    return {
        "receiver": "watchkeeper",
        "status": "firing",
        "alerts": [alert],
        "groupLabels": {"alertname": alertname, "service": service},
        "commonLabels": labels,
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{alertname}", service="{service}"}}',
        "truncatedAlerts": 0,
    }


async def send_page(url: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10.0) as http:
        return await http.post(
            url + "/hooks/alertmanager", json=body, headers={"Authorization": f"Bearer {AM_TOKEN}"}
        )


async def outbox_rows(h: BotHarness) -> list[OutboxMessage]:
    async with h.bot.runtime.sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def queued_blocks(h: BotHarness, user_id: str) -> list[dict[str, Any]] | None:
    """The blocks of the newest answer queued for `user_id`'s response_url (None before
    there is one): what Slack will show once it is back, and what the user clicks then."""
    rows = [r for r in await outbox_rows(h) if r.lane.startswith("resp:")]
    mine = [r for r in rows if r.lane.endswith(f":{user_id}")]
    if not mine:
        return None
    blocks: list[dict[str, Any]] = json.loads(mine[-1].payload).get("blocks", [])
    return blocks or None


Delivery = tuple[str, str]  # (method, text): what one Slack write showed


def _delivered_by_slack(h: BotHarness) -> dict[str, list[Delivery]]:
    """Every write the stand-in accepted, per outbox lane, in the order it accepted them."""
    lanes: dict[str, list[Delivery]] = defaultdict(list)
    for call in h.state.calls():
        if call.status != 200 or call.error is not None or call.method == "response_url":
            continue
        channel = str(call.payload.get("channel", ""))
        if call.method in ("chat.postMessage", "chat.update"):
            lanes[channel].append((call.method, str(call.payload.get("text", ""))))
        elif call.method == "chat.postEphemeral":
            lanes[f"eph:{channel}"].append((call.method, str(call.payload.get("text", ""))))
    for response in h.state.responses():
        lanes[f"resp:{response.channel}:{response.user}"].append(("response_url", response.text))
    return lanes


@dataclass(frozen=True)
class DeliveryReport:
    """What an outage did to the outbox: every figure in simulated seconds."""

    queued: int  # rows written (coalesced edits excluded)
    delivered: int
    lost: int  # rows never delivered, or refused by Slack
    duplicates: int  # Slack writes beyond one per row
    out_of_order_lanes: list[str]
    delayed: int  # rows delivered more than `delay_threshold` after they were queued
    max_delay: float
    coalesced: int  # pending edits replaced by a newer one, by design


async def delivery_report(
    h: BotHarness, delay_threshold: float = 5.0, direct: str | None = None
) -> DeliveryReport:
    """`direct`: the text of answers sent outside the outbox, left out of the count."""
    rows = [r for r in await outbox_rows(h) if r.status != SUPERSEDED]
    expected: dict[str, list[Delivery]] = defaultdict(list)
    delays = []
    for row in rows:
        if row.status == "delivered":
            payload = json.loads(row.payload)
            expected[row.lane].append((row.method, str(payload.get("text", ""))))
            assert row.delivered_at is not None
            delays.append((row.delivered_at - row.created_at).total_seconds())
    actual = {
        lane: [d for d in sent if d[1] != direct] for lane, sent in _delivered_by_slack(h).items()
    }
    surplus = Counter(d for lane in actual.values() for d in lane)
    surplus.subtract(d for lane in expected.values() for d in lane)
    coalesced = sum(1 for r in await outbox_rows(h) if r.status == SUPERSEDED)
    return DeliveryReport(
        queued=len(rows),
        delivered=len(delays),
        lost=len(rows) - len(delays),
        duplicates=sum(n for n in surplus.values() if n > 0),
        out_of_order_lanes=sorted(k for k in expected if actual.get(k) != expected[k]),
        delayed=sum(1 for d in delays if d > delay_threshold),
        max_delay=max(delays, default=0.0),
        coalesced=coalesced,
    )


async def audit_chain_verifies(h: BotHarness) -> int:
    """Checks the whole audit chain with the deployment's key; returns the rows checked."""
    async with h.bot.runtime.engine.connect() as conn:
        report = await verify(conn, KeyRing.from_config(h.bot.runtime.config.audit))
    assert report.problem is None, report.problem
    return report.rows_checked
