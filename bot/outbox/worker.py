"""Delivering the outbox to Slack: paced per lane, in order, retried until Slack takes it.

One lane (a channel, or a user's ephemeral/response stream) is sent by one replica at a
time, under a lease row in `outbox_lanes`; the lease row also carries the lane's pace.
Only the oldest undelivered row of a lane is ever sent, so a thread's replies cannot
overtake their root and a retried row holds back the rows behind it (order over speed).

Outcomes of one send:
- delivered: the row is done; a keyed post stores its `ts` for replies and edits;
- 429: the row and the lane wait for Slack's Retry-After;
- outage (5xx, timeout, refused): jittered exponential backoff, retried forever;
- API error (`ok: false`): the row is `failed` with Slack's error name, and the lane moves on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock, utcnow
from bot.config import OutboxConfig
from bot.db.models import LaneLease, OutboxMessage, PostedMessage
from bot.outbox.enqueue import RESPONSE_LANE_PREFIX
from integrations.slack.errors import SlackApiError, SlackRateLimited, SlackUnavailable
from integrations.slack.web import SlackWebClient

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=30)
LANES_PER_PASS = 200


@dataclass
class _Outcome:
    delivered: bool = False
    wait_until: datetime | None = None


class OutboxWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        web: SlackWebClient,
        config: OutboxConfig,
        *,
        owner: str,
        clock: Clock = utcnow,
    ) -> None:
        self._sessions = sessions
        self._web = web
        self._config = config
        self._owner = owner
        self._clock = clock
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Deliver soon: a request just enqueued something."""
        self._wake.set()

    async def run_forever(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except Exception:  # the worker must outlive a database blip; it logs and retries
                log.exception("outbox pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self._config.poll_interval_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    async def deliver_due(self) -> int:
        """One pass: at most one message per due lane. Returns how many were delivered."""
        lanes = await self._due_lanes()
        results = await asyncio.gather(*(self._deliver_lane(lane) for lane in lanes))
        return sum(results)

    async def pending_count(self) -> int:
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count()).where(OutboxMessage.status.in_(("pending", "sending")))
            )
            return int(count or 0)

    async def _due_lanes(self) -> list[str]:
        now = self._clock()
        async with self._sessions() as session:
            rows = await session.scalars(
                select(OutboxMessage.lane)
                .where(
                    OutboxMessage.status.in_(("pending", "sending")),
                    OutboxMessage.next_attempt_at <= now,
                )
                .group_by(OutboxMessage.lane)
                .limit(LANES_PER_PASS)
            )
            return list(rows)

    async def _claim(self, lane: str) -> bool:
        now = self._clock()
        async with self._sessions() as session, session.begin():
            claimed = await session.execute(
                update(LaneLease)
                .where(
                    LaneLease.lane == lane,
                    or_(
                        LaneLease.owner.is_(None),
                        LaneLease.owner == self._owner,
                        LaneLease.lease_until < now,
                    ),
                    or_(LaneLease.next_send_at.is_(None), LaneLease.next_send_at <= now),
                )
                .values(owner=self._owner, lease_until=now + LEASE)
            )
            if claimed.rowcount == 1:  # type: ignore[attr-defined]
                return True
            if await session.get(LaneLease, lane) is not None:
                return False  # someone else holds it, or the lane is still pacing
        try:
            async with self._sessions() as session, session.begin():
                session.add(LaneLease(lane=lane, owner=self._owner, lease_until=now + LEASE))
            return True
        except IntegrityError:
            return False  # another replica created the lane row first

    async def _release(self, lane: str, next_send_at: datetime | None) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(LaneLease)
                .where(LaneLease.lane == lane, LaneLease.owner == self._owner)
                .values(owner=None, lease_until=None, next_send_at=next_send_at)
            )

    async def _deliver_lane(self, lane: str) -> int:
        if not await self._claim(lane):
            return 0
        outcome = _Outcome()
        try:
            outcome = await self._send_head(lane)
        finally:
            await self._release(lane, outcome.wait_until)
        return 1 if outcome.delivered else 0

    async def _send_head(self, lane: str) -> _Outcome:
        now = self._clock()
        async with self._sessions() as session, session.begin():
            head = await session.scalar(
                select(OutboxMessage)
                .where(OutboxMessage.lane == lane, OutboxMessage.status.in_(("pending", "sending")))
                .order_by(OutboxMessage.id)
                .limit(1)
            )
            if head is None or head.next_attempt_at > now:
                return _Outcome()
            # 'sending' stops coalescing into a payload that is already on its way.
            head.status = "sending"
            head_id = head.id
            method = head.method
            payload: dict[str, Any] = json.loads(head.payload)
            message_key, thread_key, target_key = head.message_key, head.thread_key, head.target_key
            payload_ok = await self._resolve_refs(session, payload, thread_key, target_key)
        if not payload_ok:
            await self._finish(head_id, status="failed", error="referenced message was never posted")
            return _Outcome(wait_until=now)
        pace = now + timedelta(seconds=self._interval(lane))
        try:
            answer = await self._call(method, payload)
        except SlackRateLimited as exc:
            retry_at = self._clock() + timedelta(seconds=exc.retry_after)
            await self._retry_later(head_id, retry_at, str(exc), count_attempt=False)
            return _Outcome(wait_until=retry_at)
        except SlackUnavailable as exc:
            retry_at = await self._backoff(head_id, str(exc))
            return _Outcome(wait_until=retry_at)
        except SlackApiError as exc:
            log.error("outbox row %s refused by Slack: %s", head_id, exc.error)
            await self._finish(head_id, status="failed", error=exc.error)
            return _Outcome(wait_until=pace)
        await self._finish(head_id, status="delivered", answer=answer, message_key=message_key)
        return _Outcome(delivered=True, wait_until=pace)

    def _interval(self, lane: str) -> float:
        # A response_url is a fresh URL per interaction, not a channel post: Slack's
        # per-channel pace does not apply, and a person is waiting for the answer.
        return 0.0 if lane.startswith(RESPONSE_LANE_PREFIX) else self._config.per_channel_interval_seconds

    async def _resolve_refs(
        self,
        session: AsyncSession,
        payload: dict[str, Any],
        thread_key: str | None,
        target_key: str | None,
    ) -> bool:
        for ref, field in ((thread_key, "thread_ts"), (target_key, "ts")):
            if ref is None:
                continue
            posted = await session.get(PostedMessage, ref)
            if posted is None:
                return False
            payload[field] = posted.ts
            payload["channel"] = posted.channel
        return True

    async def _call(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        if method == "response_url":
            url = payload.pop("response_url")
            await self._web.respond(url, payload)
            return {}
        return await self._web.call(method, payload)

    async def _retry_later(
        self, row_id: int, at: datetime, error: str, *, count_attempt: bool
    ) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(OutboxMessage, row_id)
            assert row is not None
            row.status = "pending"
            row.next_attempt_at = at
            row.last_error = error[:500]
            if count_attempt:
                row.attempts += 1

    async def _backoff(self, row_id: int, error: str) -> datetime:
        async with self._sessions() as session:
            row = await session.get(OutboxMessage, row_id)
            attempts = row.attempts if row is not None else 0
        ceiling = min(self._config.max_backoff_seconds, 2.0 ** min(attempts, 20))
        # Full jitter keeps replicas and lanes from retrying in lockstep after an outage.
        delay = random.uniform(ceiling / 2, ceiling)
        retry_at = self._clock() + timedelta(seconds=delay)
        await self._retry_later(row_id, retry_at, error, count_attempt=True)
        return retry_at

    async def _finish(
        self,
        row_id: int,
        *,
        status: str,
        error: str | None = None,
        answer: dict[str, Any] | None = None,
        message_key: str | None = None,
    ) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(OutboxMessage, row_id)
            assert row is not None
            row.status = status
            row.attempts += 1
            row.last_error = error
            if status == "delivered":
                row.delivered_at = self._clock()
            if message_key and answer and "ts" in answer:
                channel = str(answer.get("channel") or json.loads(row.payload)["channel"])
                await session.merge(PostedMessage(key=message_key, channel=channel, ts=answer["ts"]))
