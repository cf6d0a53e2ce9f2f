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

Each pass ends with a signal: `next_pass` and `drained` await passes instead of sleeping
past them (tests, and anything that must know the queue has gone out).
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

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock, utcnow
from bot.db.models import OutboxMessage, PostedMessage
from bot.db.unit_of_work import writing
from bot.outbox.backlog import count_undelivered, due_lanes, read_backlog
from bot.outbox.config import OutboxConfig
from bot.outbox.enqueue import LINK_FIELD, LINK_SLOT, RESPONSE_LANE_PREFIX, UPLOAD
from bot.outbox.lanes import release_lane, take_lane
from integrations.slack.errors import SlackApiError, SlackRateLimited, SlackUnavailable
from integrations.slack.web import SlackWebClient

log = logging.getLogger(__name__)

# A message linking another waits for it this long (its lane may be paced, Slack down),
# then fails rather than hold its lane for ever.
LINK_GIVE_UP = timedelta(hours=1)


@dataclass(frozen=True)
class _Claim:
    lane: str
    row_id: int
    method: str
    payload: dict[str, Any]
    message_key: str | None
    attempts: int
    resolved: bool
    # (channel, ts) of the message whose permalink fills `LINK_SLOT`
    # (bot.outbox.enqueue.post_linking).
    link: tuple[str, str] | None = None


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
        self._running = False
        self._in_pass = False
        self._pass_ended = asyncio.Event()  # replaced by a fresh one as each pass ends
        self._last_delivered = 0
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
        self._running = True
        try:
            while not self._stopping:
                self._in_pass, delivered = True, 0
                try:
                    delivered = await self.deliver_due()
                except Exception:  # the worker must outlive a database blip; it logs, retries
                    log.exception("outbox pass failed")
                self._end_pass(delivered)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._config.poll_interval_seconds)
                self._wake.clear()
        finally:
            self._running = False
            self._end_pass(0)  # a waiter looks again, and makes its own passes from now on

    def _end_pass(self, delivered: int) -> None:
        self.passes += 1
        self._in_pass, self._last_delivered = False, delivered
        ended, self._pass_ended = self._pass_ended, asyncio.Event()
        ended.set()

    async def next_pass(self) -> int:
        """Wake the worker and await a whole pass begun after this call (one made here when
        `run_forever` is not running); returns how many messages it delivered."""
        if not self._running:
            return await self.deliver_due()
        if self._in_pass:
            await self._pass_ended.wait()  # it began before this call: it may miss new rows
        ended = self._pass_ended
        self.wake()
        await ended.wait()
        return self._last_delivered

    async def drained(self, within: float) -> int:
        """Return once no message is due and none is being sent: rows a lane's pace holds
        back are waited for, rows waiting on a retry back-off (Slack failing) are not, and
        their number is returned. TimeoutError once `within` seconds have passed."""
        async with asyncio.timeout(within):
            progress = True
            while (backlog := await read_backlog(self._sessions, self._clock())).due:
                # After a pass that sent nothing (a paced lane, another replica's lease),
                # waking the worker again would only spin: its own poll comes soon enough.
                sent = await (self.next_pass() if progress else self._later_pass())
                progress = sent > 0
            return backlog.backing_off

    async def _later_pass(self) -> int:
        if not self._running:
            await asyncio.sleep(self._config.poll_interval_seconds)
            return await self.deliver_due()
        await self._pass_ended.wait()
        return self._last_delivered

    async def deliver_due(self) -> int:
        """One pass: at most one message per due lane. Returns how many were delivered."""
        await self._record_unrecorded()
        due = await due_lanes(self._sessions, self._clock())
        lanes = [lane for lane in due if lane not in self._unrecorded]
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
                if not await count_undelivered(self._sessions, due_before=horizon):
                    break
                await self.deliver_due()
            except Exception:  # stopping goes on; the rows stay queued
                log.exception("outbox flush failed")
                break
            await asyncio.sleep(min(self._config.poll_interval_seconds, max(left, 0.0)))
        return await self.pending_count()

    async def pending_count(self) -> int:
        return await count_undelivered(self._sessions)

    async def _claim_head(self, lane: str) -> _Claim | None:
        """One transaction: the lane's lease and its oldest undelivered row, marked sending."""
        now = self._clock()
        async with writing(self._sessions) as session:
            lease = self._config.lane_lease_seconds
            if not await take_lane(session, lane, owner=self._owner, now=now, seconds=lease):
                return None
            head = await session.scalar(
                select(OutboxMessage)
                .where(OutboxMessage.lane == lane, OutboxMessage.status.in_(("pending", "sending")))
                .order_by(OutboxMessage.id)
                .limit(1)
            )
            if head is None or head.next_attempt_at > now:
                await release_lane(session, lane, owner=self._owner, next_send_at=None)
                return None
            payload: dict[str, Any] = json.loads(head.payload)
            link_key = payload.pop(LINK_FIELD, None)
            linked = None if link_key is None else await session.get(PostedMessage, link_key)
            if link_key is not None and linked is None:
                # The message it links is in another lane and not posted yet: not due
                # until it is (a later pass), failed once it is clearly never coming.
                if now - head.created_at > LINK_GIVE_UP:
                    head.status, head.last_error = "failed", "linked message was never posted"
                await release_lane(session, lane, owner=self._owner, next_send_at=None)
                return None
            # 'sending' stops coalescing into a payload that is already on its way.
            head.status = "sending"
            resolved = await self._resolve_refs(session, payload, head.thread_key, head.target_key)
            return _Claim(
                lane, head.id, head.method, payload, head.message_key, head.attempts, resolved,
                link=None if linked is None else (linked.channel, linked.ts),
            )  # fmt: skip

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
            await release_lane(
                session, claim.lane, owner=self._owner, next_send_at=result.wait_until
            )

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
            payload = dict(claim.payload)
            if claim.link is not None:
                payload = await self._with_permalink(payload, *claim.link)
            answer = await self._call(claim.method, payload)
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

    async def _with_permalink(
        self, payload: dict[str, Any], channel: str, ts: str
    ) -> dict[str, Any]:
        """The payload with `LINK_SLOT` replaced by the linked message's permalink."""
        answer = await self._web.call("chat.getPermalink", {"channel": channel, "message_ts": ts})
        link = str(answer.get("permalink") or "")
        filled = json.dumps(payload).replace(LINK_SLOT, link.replace('"', ""))
        result: dict[str, Any] = json.loads(filled)
        return result

    async def _call(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        if method == "response_url":
            url = payload.pop("response_url")
            await self._web.respond(url, payload)
            return {}
        if method == UPLOAD:
            return await self._web.upload_file(
                channel=str(payload["channel"]),
                thread_ts=payload.get("thread_ts"),
                filename=str(payload["filename"]),
                title=str(payload["title"]),
                content=str(payload["content"]).encode(),
            )
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
