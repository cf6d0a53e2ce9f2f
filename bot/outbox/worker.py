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

An outcome the database cannot take right after the send (it went away) is kept in memory
and written first on the next pass; the row is not sent again meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from bot.db.models import LaneLease, OutboxMessage, PostedMessage
from bot.db.unit_of_work import writing
from bot.outbox.config import OutboxConfig
from bot.outbox.enqueue import RESPONSE_LANE_PREFIX
from integrations.slack.errors import SlackApiError, SlackRateLimited, SlackUnavailable
from integrations.slack.web import SlackWebClient

log = logging.getLogger(__name__)

LANES_PER_PASS = 200


@dataclass(frozen=True)
class _Claim:
    lane: str
    row_id: int
    method: str
    payload: dict[str, Any]
    message_key: str | None
    attempts: int
    resolved: bool


@dataclass(frozen=True)
class _Result:
    status: str  # delivered | pending (retry) | failed
    error: str | None = None
    answer: dict[str, Any] | None = None
    retry_at: datetime | None = None
    # When the lane may send again: pace after a send, Retry-After or backoff after a failure.
    wait_until: datetime | None = None
    # A 429 is Slack pacing us, not a failed attempt; it does not grow the backoff.
    counts: bool = False


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
        # Passes made by `run_forever`: a test that moves the clock wakes the worker and
        # waits for the next pass, so simulated minutes take milliseconds.
        self.passes = 0
        self._stopping = False
        # Rows Slack took whose outcome the database refused right after (it went away):
        # recorded before anything else is sent, so a database blip never sends twice.
        self._unrecorded: dict[str, tuple[_Claim, _Result]] = {}

    def wake(self) -> None:
        """Deliver soon: a request just enqueued something."""
        self._wake.set()

    def stop(self) -> None:
        """`run_forever` returns after the pass under way (a send is never cut in half)."""
        self._stopping = True
        self._wake.set()

    async def run_forever(self) -> None:
        while not self._stopping:
            try:
                await self.deliver_due()
            except Exception:  # the worker must outlive a database blip; it logs and retries
                log.exception("outbox pass failed")
            self.passes += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._config.poll_interval_seconds)
            self._wake.clear()

    async def deliver_due(self) -> int:
        """One pass: at most one message per due lane. Returns how many were delivered."""
        await self._record_unrecorded()
        lanes = [lane for lane in await self._due_lanes() if lane not in self._unrecorded]
        # Every lane finishes (or parks its outcome) before the pass ends or fails.
        results = await asyncio.gather(
            *(self._deliver_lane(lane) for lane in lanes), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return sum(r for r in results if isinstance(r, int))

    async def flush(self, seconds: float) -> int:
        """On an orderly stop, once `run_forever` has returned: deliver what falls due
        within `seconds`; returns how many rows stay queued (for the next start or replica)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            horizon = self._clock() + timedelta(seconds=left)
            try:
                if not await self._count_due(before=horizon):
                    break
                await self.deliver_due()
            except Exception:  # stopping goes on; the rows stay queued
                log.exception("outbox flush failed")
                break
            await asyncio.sleep(min(self._config.poll_interval_seconds, max(left, 0.0)))
        return await self.pending_count()

    async def _count_due(self, *, before: datetime) -> int:
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count()).where(
                    OutboxMessage.status.in_(("pending", "sending")),
                    OutboxMessage.next_attempt_at <= before,
                )
            )
            return int(count or 0)

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

    async def _lease(self, session: AsyncSession, lane: str, now: datetime) -> bool:
        """Take the lane's lease inside `session`'s transaction, if free and paced out.
        A lease already under this worker's owner is taken at once: with a stable
        `server.replica_id` it was left by this replica's previous, dead process."""
        until = now + timedelta(seconds=self._config.lane_lease_seconds)
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
            .values(owner=self._owner, lease_until=until)
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            return True
        if await session.get(LaneLease, lane) is not None:
            return False  # another replica holds it, or the lane is still pacing
        try:
            async with session.begin_nested():
                session.add(LaneLease(lane=lane, owner=self._owner, lease_until=until))
            return True
        except IntegrityError:
            return False  # another replica created the lane row first

    async def _claim_head(self, lane: str) -> _Claim | None:
        """One transaction: the lane's lease and its oldest undelivered row, marked sending."""
        now = self._clock()
        async with writing(self._sessions) as session:
            if not await self._lease(session, lane, now):
                return None
            head = await session.scalar(
                select(OutboxMessage)
                .where(OutboxMessage.lane == lane, OutboxMessage.status.in_(("pending", "sending")))
                .order_by(OutboxMessage.id)
                .limit(1)
            )
            if head is None or head.next_attempt_at > now:
                await self._release(session, lane, None)
                return None
            # 'sending' stops coalescing into a payload that is already on its way.
            head.status = "sending"
            payload: dict[str, Any] = json.loads(head.payload)
            resolved = await self._resolve_refs(session, payload, head.thread_key, head.target_key)
            return _Claim(
                lane, head.id, head.method, payload, head.message_key, head.attempts, resolved
            )

    async def _release(
        self, session: AsyncSession, lane: str, next_send_at: datetime | None
    ) -> None:
        await session.execute(
            update(LaneLease)
            .where(LaneLease.lane == lane, LaneLease.owner == self._owner)
            .values(owner=None, lease_until=None, next_send_at=next_send_at)
        )

    async def _deliver_lane(self, lane: str) -> int:
        claim = await self._claim_head(lane)
        if claim is None:
            return 0
        result = await self._send(claim)
        try:
            await self._finish(claim, result)
        except Exception:
            self._unrecorded[lane] = (claim, result)
            raise
        return 1 if result.status == "delivered" else 0

    async def _finish(self, claim: _Claim, result: _Result) -> None:
        async with writing(self._sessions) as session:
            await self._record(session, claim, result)
            await self._release(session, claim.lane, result.wait_until)

    async def _record_unrecorded(self) -> None:
        """Raises while the database is still away; the lanes wait meanwhile."""
        for lane, (claim, result) in list(self._unrecorded.items()):
            await self._finish(claim, result)
            del self._unrecorded[lane]

    async def _send(self, claim: _Claim) -> _Result:
        now = self._clock()
        if not claim.resolved:
            return _Result("failed", error="referenced message was never posted")
        pace = now + timedelta(seconds=self._interval(claim.lane))
        try:
            answer = await self._call(claim.method, dict(claim.payload))
        except SlackRateLimited as exc:
            retry_at = self._clock() + timedelta(seconds=exc.retry_after)
            return _Result("pending", error=str(exc), retry_at=retry_at, wait_until=retry_at)
        except SlackUnavailable as exc:
            ceiling = min(self._config.max_backoff_seconds, 2.0 ** min(claim.attempts, 20))
            # Full jitter keeps replicas and lanes from retrying in lockstep after an outage.
            retry_at = self._clock() + timedelta(seconds=random.uniform(ceiling / 2, ceiling))
            return _Result("pending", error=str(exc), retry_at=retry_at, wait_until=retry_at,
                           counts=True)  # fmt: skip
        except SlackApiError as exc:
            log.error("outbox row %s refused by Slack: %s", claim.row_id, exc.error)
            return _Result("failed", error=exc.error, wait_until=pace, counts=True)
        return _Result("delivered", answer=answer, wait_until=pace, counts=True)

    def _interval(self, lane: str) -> float:
        # A response_url is a fresh URL per interaction, not a channel post: Slack's
        # per-channel pace does not apply, and a person is waiting for the answer.
        if lane.startswith(RESPONSE_LANE_PREFIX):
            return 0.0
        return self._config.per_channel_interval_seconds

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

    async def _record(self, session: AsyncSession, claim: _Claim, result: _Result) -> None:
        row = await session.get(OutboxMessage, claim.row_id)
        assert row is not None
        row.status = result.status
        row.last_error = result.error[:500] if result.error else None
        if result.counts:
            row.attempts += 1
        if result.retry_at is not None:
            row.next_attempt_at = result.retry_at
        if result.status == "delivered":
            row.delivered_at = self._clock()
            answer = result.answer or {}
            if claim.message_key and "ts" in answer:
                channel = str(answer.get("channel") or claim.payload["channel"])
                await session.merge(
                    PostedMessage(key=claim.message_key, channel=channel, ts=answer["ts"])
                )
