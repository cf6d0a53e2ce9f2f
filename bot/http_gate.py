"""The door every HTTP request passes before any route sees it (docs/security.md).

Nothing is authenticated before its body is read (Slack's signature and the webhooks'
HMACs cover the body), so reading bodies is where an unauthenticated sender can hold the
server. `RequestGate` reads the body itself, then hands the route the bytes it read:

- within `body_seconds` of the request's head, else 408 and the connection is closed;
- within `max_body_bytes`, counted as the bytes arrive (a declared Content-Length past it
  is refused before reading), else 413 and the connection is closed;
- while at most `max_pending` other requests wait for more of their body; past that a
  request that has sent only part of its body is answered 503 with Retry-After at once.
  A body that arrives whole (a Slack command, a health probe) never waits and never
  takes a place, so a crowd of trickling senders cannot shut out Slack's 3 s ack.

The request head has its own deadline, in the server's protocol (bot/http_server.py).
"""

from __future__ import annotations

import asyncio
import logging

from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.config import Config

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


def gate(config: Config) -> Middleware:
    """The gate for this configuration; its size cap is the largest any route accepts
    (the routes keep their own, smaller ones)."""
    server = config.server
    return Middleware(
        RequestGate,
        max_body_bytes=max(server.max_body_bytes, config.intake.max_body_bytes or 0),
        body_seconds=server.body_timeout_seconds,
        max_pending=server.max_pending_bodies,
    )


class Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        self.status = status
        self.text = text


class RequestGate:
    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, body_seconds: float, max_pending: int
    ) -> None:
        self._app = app
        self._limit = max_body_bytes
        self._body_seconds = body_seconds
        self._max_pending = max_pending
        self.pending = 0  # requests holding a place while more of their body is awaited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        try:
            async with asyncio.timeout(self._body_seconds):
                body = await self._read(scope, receive)
        except Refused as refused:
            await _refuse(send, refused.status, refused.text)
            return
        except TimeoutError:
            log.info("closed a request whose body did not arrive in %ss", self._body_seconds)
            await _refuse(send, 408, "the request body did not arrive in time")
            return
        if body is None:  # the client went away mid-body: nobody to answer
            return
        await self._app(scope, _replay(body, receive), send)

    async def _read(self, scope: Scope, receive: Receive) -> bytes | None:
        if _declared_length(scope) > self._limit:
            raise Refused(413, "request body too large")
        chunks: list[bytes] = []
        size = 0
        holding = False
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return None
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self._limit:
                    raise Refused(413, "request body too large")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
                if not holding:
                    if self.pending >= self._max_pending:
                        log.warning("busy: %d request bodies still arriving", self.pending)
                        raise Refused(503, "too many requests are still sending; retry")
                    self.pending += 1
                    holding = True
        finally:
            if holding:
                self.pending -= 1


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            # ASCII digits only; anything else is left to the server's HTTP parser. Past
            # 18 digits it is too large anyway (and `int` refuses very long strings).
            if not value.isdigit():
                return 0
            return int(value) if len(value) <= 18 else 10**18
    return 0


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body as one message, then the connection's own messages (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _refuse(send: Send, status: int, text: str) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        # The rest of the body may still be on its way: the connection cannot carry
        # another request, and closing it is what frees the server.
        (b"connection", b"close"),
    ]
    if status == 503:
        headers.append((b"retry-after", str(RETRY_AFTER_SECONDS).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text.encode()})
