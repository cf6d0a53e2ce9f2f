"""Slack's side of Socket Mode: the app's WebSockets and the envelopes sent over them.

    apps.connections.open (app-level token)   {"ok": true, "url": "ws://HOST/link/?ticket=..."}
    WS /link/?ticket=...                      one connection per ticket; `hello` first

Then Slack writes envelopes, `{"type": "events_api" | "slash_commands" | "interactive",
"envelope_id", "payload", "accepts_response_payload", "retry_attempt", "retry_reason"}`,
and the app answers each with `{"envelope_id", "payload"?}` (the payload is what an HTTP
ack's body would be). Like Slack, the hub spreads envelopes over the app's connections,
sends `{"type": "disconnect", "reason": ...}` before it retires one, and sends an envelope
again (`retry_attempt` + 1) when its ack does not come in time or its connection closes
first. Slack resends only Events API envelopes; the stand-in resends every kind, so a test
can prove the bot runs a resent command or click once. Resends go out at once, not a
minute apart as Slack's do.

This module is free of HTTP: `server.py` serves the WebSocket and hands each one over as a
`Link`; tests and the demo console call `deliver` (or `through_socket`) directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args

import httpx

from standins.slack.models import JsonDict

EnvelopeType = Literal["events_api", "slash_commands", "interactive"]
ENVELOPE_TYPES: tuple[str, ...] = get_args(EnvelopeType)
DisconnectReason = Literal["refresh_requested", "warning", "link_disabled"]
DISCONNECT_REASONS: tuple[str, ...] = get_args(DisconnectReason)

APP_ID = "A0WATCH01"
DEBUG_HOST = "applink-standin"
ACK_SECONDS = 3.0  # Slack's window for an ack, as for an HTTP request
MAX_RETRIES = 3  # Slack retries an event three times
# How long an envelope waits for the app to be connected at all before it counts as lost.
CONNECT_WAIT_SECONDS = 15.0
# After a `disconnect`, the app has this long to move to a new connection before the old
# one is closed under it.
RETIRE_GRACE_SECONDS = 10.0
POLL_SECONDS = 0.02
GOING_AWAY = 1001  # WebSocket close code: the server is going away


class Link(Protocol):
    """One accepted WebSocket, as the hub sees it."""

    async def send(self, text: str) -> None: ...

    async def close(self, code: int) -> None: ...


@dataclass
class Connection:
    id: int
    link: Link
    opened_at: float
    retiring: bool = False  # a `disconnect` was sent: no new envelopes go to it
    closed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Envelope:
    id: str
    type: EnvelopeType
    payload: JsonDict
    accepts_response_payload: bool
    retry_attempt: int = 0
    retry_reason: str = ""

    def to_json(self) -> JsonDict:
        return {
            "envelope_id": self.id,
            "type": self.type,
            "payload": self.payload,
            "accepts_response_payload": self.accepts_response_payload,
            "retry_attempt": self.retry_attempt,
            "retry_reason": self.retry_reason,
        }


@dataclass(frozen=True)
class Sent:
    """One attempt at an envelope, on one connection."""

    envelope_id: str
    type: str
    retry_attempt: int
    connection: int
    at: float

    def to_json(self) -> JsonDict:
        return {
            "envelope_id": self.envelope_id,
            "type": self.type,
            "retry_attempt": self.retry_attempt,
            "connection": self.connection,
            "at": self.at,
        }


@dataclass(frozen=True)
class Ack:
    """What the app wrote back; `counted` is False for an ack nothing was waiting for
    (late, repeated, or naming no envelope sent)."""

    envelope_id: str
    payload: JsonDict | None
    connection: int
    counted: bool

    def to_json(self) -> JsonDict:
        return {
            "envelope_id": self.envelope_id,
            "payload": self.payload,
            "connection": self.connection,
            "counted": self.counted,
        }


@dataclass(frozen=True)
class Delivery:
    """How an envelope ended: acked (with the ack's payload) or given up on."""

    envelope_id: str
    type: str
    acked: bool
    payload: JsonDict | None
    attempts: int

    def to_json(self) -> JsonDict:
        return {
            "envelope_id": self.envelope_id,
            "type": self.type,
            "acked": self.acked,
            "payload": self.payload,
            "attempts": self.attempts,
        }


class SocketModeHub:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.ack_seconds = ACK_SECONDS
        self.max_retries = MAX_RETRIES
        self.connect_wait_seconds = CONNECT_WAIT_SECONDS
        self.retire_grace_seconds = RETIRE_GRACE_SECONDS
        self._tickets: set[str] = set()
        self._connections: dict[int, Connection] = {}
        self._ids = itertools.count(1)
        self._turn = itertools.count()
        self._waiting: dict[str, asyncio.Future[JsonDict | None]] = {}
        self._cut_after_send = 0
        self._retirements: set[asyncio.Task[None]] = set()
        self.opened = 0  # connections ever accepted
        self.sent: list[Sent] = []
        self.acks: list[Ack] = []
        self.deliveries: list[Delivery] = []
        self.unreadable: list[str] = []  # messages from the app that were not acks

    # -- connections -----------------------------------------------------------------

    def new_url(self, ws_base: str) -> str:
        """apps.connections.open: a URL good for one connection."""
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        return f"{ws_base.rstrip('/')}/link/?ticket={ticket}&app_id={APP_ID}"

    def redeem(self, ticket: str) -> bool:
        if ticket not in self._tickets:
            return False
        self._tickets.discard(ticket)
        return True

    @property
    def connections(self) -> int:
        """Connections open now, retiring ones included."""
        return len(self._connections)

    async def attach(self, link: Link, *, host: str = DEBUG_HOST) -> Connection:
        """A new connection: `hello` first, then it takes envelopes."""
        connection = Connection(next(self._ids), link, self.clock())
        hello = {
            "type": "hello",
            "num_connections": len(self._connections) + 1,
            "debug_info": {"host": host, "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": APP_ID},
        }
        await link.send(json.dumps(hello))
        self._connections[connection.id] = connection
        self.opened += 1
        return connection

    def detach(self, connection: Connection) -> None:
        self._connections.pop(connection.id, None)
        connection.closed.set()

    def receive(self, connection: Connection, text: str) -> None:
        """An ack from the app (anything else is recorded and ignored, as Slack does)."""
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        if not isinstance(envelope_id, str):
            self.unreadable.append(text[:500])
            return
        assert isinstance(message, dict)
        payload = message.get("payload")
        payload = payload if isinstance(payload, dict) else None
        waiting = self._waiting.get(envelope_id)
        counted = waiting is not None and not waiting.done()
        if waiting is not None and counted:
            waiting.set_result(payload)
        self.acks.append(Ack(envelope_id, payload, connection.id, counted))

    async def disconnect(self, reason: DisconnectReason = "refresh_requested") -> int:
        """Ask every connection to move on (Slack refreshes connections every few hours);
        each takes no new envelope and is closed `retire_grace_seconds` later if the app
        has not closed it. Returns how many were asked."""
        asked = 0
        for connection in list(self._connections.values()):
            if connection.retiring:
                continue
            connection.retiring = True
            message = {"type": "disconnect", "reason": reason, "debug_info": {"host": DEBUG_HOST}}
            with contextlib.suppress(Exception):  # it may close under us; that is fine
                await connection.link.send(json.dumps(message))
            asked += 1
            task = asyncio.create_task(self._retire(connection))
            self._retirements.add(task)
            task.add_done_callback(self._retirements.discard)
        return asked

    async def _retire(self, connection: Connection) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(connection.closed.wait(), self.retire_grace_seconds)
            return
        await self._close(connection)

    async def drop(self) -> int:
        """Close every connection now, with no `disconnect` first (a network cut, a
        restart on Slack's side); the app must notice and connect again."""
        connections = list(self._connections.values())
        for connection in connections:
            await self._close(connection)
        return len(connections)

    def cut_after_next_envelope(self, count: int = 1) -> None:
        """The next `count` envelopes each have their connection closed right after they
        are written, so their ack is lost with it and they must be sent again."""
        self._cut_after_send += count

    async def _close(self, connection: Connection) -> None:
        self.detach(connection)
        with contextlib.suppress(Exception):
            await connection.link.close(GOING_AWAY)

    async def _a_connection(self, deadline: float) -> Connection | None:
        loop = asyncio.get_running_loop()
        while True:
            ready = [c for c in self._connections.values() if not c.retiring]
            if ready:
                return ready[next(self._turn) % len(ready)]
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(POLL_SECONDS)

    # -- envelopes -------------------------------------------------------------------

    async def deliver(self, kind: EnvelopeType, payload: JsonDict) -> Delivery:
        """Send one envelope and wait for its ack, sending it again as Slack would."""
        if kind not in ENVELOPE_TYPES:
            raise ValueError(f"no envelope type {kind!r}; one of {', '.join(ENVELOPE_TYPES)}")
        envelope = Envelope(
            f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}",
            kind,
            payload,
            accepts_response_payload=kind != "events_api",
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.connect_wait_seconds
        attempts = 0
        try:
            while attempts <= self.max_retries:
                connection = await self._a_connection(deadline)
                if connection is None:
                    break
                envelope.retry_attempt = attempts
                attempts += 1
                answer = await self._attempt(envelope, connection)
                if answer is not None:
                    return self._ended(envelope, True, answer[0], attempts)
                deadline = loop.time() + self.connect_wait_seconds
            return self._ended(envelope, False, None, attempts)
        finally:
            self._waiting.pop(envelope.id, None)

    async def _attempt(
        self, envelope: Envelope, connection: Connection
    ) -> tuple[JsonDict | None] | None:
        """The ack's payload (in a 1-tuple: an ack may carry none), or None: send again."""
        self.sent.append(
            Sent(envelope.id, envelope.type, envelope.retry_attempt, connection.id, self.clock())
        )
        ack: asyncio.Future[JsonDict | None] = asyncio.get_running_loop().create_future()
        cut = self._cut_after_send > 0
        if cut:
            # Nothing waits for this attempt's ack: it is lost with the connection.
            self._cut_after_send -= 1
            ack.cancel()
        else:
            self._waiting[envelope.id] = ack
        try:
            await connection.link.send(json.dumps(envelope.to_json()))
        except Exception:
            await self._close(connection)
        if cut:
            await self._close(connection)
        closed: asyncio.Future[Any] = asyncio.ensure_future(connection.closed.wait())
        either: list[asyncio.Future[Any]] = [ack, closed]
        try:
            await asyncio.wait(
                either, timeout=self.ack_seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            closed.cancel()
        if ack.done() and not ack.cancelled():
            return (ack.result(),)
        # An ack arriving from here on is late: this attempt has failed and the envelope
        # goes out again, as Slack resends one whose ack it did not get.
        ack.cancel()
        envelope.retry_reason = "connection_closed" if connection.closed.is_set() else "timeout"
        return None

    def _ended(
        self, envelope: Envelope, acked: bool, payload: JsonDict | None, attempts: int
    ) -> Delivery:
        delivery = Delivery(envelope.id, envelope.type, acked, payload, attempts)
        self.deliveries.append(delivery)
        return delivery

    def to_json(self) -> JsonDict:
        return {
            "connections": self.connections,
            "opened": self.opened,
            "sent": [s.to_json() for s in self.sent],
            "acks": [a.to_json() for a in self.acks],
            "deliveries": [d.to_json() for d in self.deliveries],
        }


def through_socket(
    hub: SocketModeHub,
) -> Callable[[str, JsonDict], Awaitable[httpx.Response]]:
    """A `SlackSender` delivery over the socket, answering as the HTTP request URL would:
    200 with the ack's payload as the body, or 504 when the app never acked (Slack shows
    the user an error then)."""

    async def deliver(kind: str, payload: JsonDict) -> httpx.Response:
        if kind not in ENVELOPE_TYPES:
            raise ValueError(f"no envelope type {kind!r}")
        delivery = await hub.deliver(kind, payload)  # type: ignore[arg-type]
        if not delivery.acked:
            return httpx.Response(504, text=f"no ack after {delivery.attempts} attempts")
        if delivery.payload is None:
            return httpx.Response(200)
        return httpx.Response(200, json=delivery.payload)

    return deliver
