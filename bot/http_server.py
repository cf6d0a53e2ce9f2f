"""How `serve` runs the HTTP listener (uvicorn) so that no sender holds it for long:
a deadline for the request head, idle keep-alive, header size and connection caps.
The body's deadline and size are the gate's (bot/http_gate.py)."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import ClassVar

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.process_config import ServerConfig

log = logging.getLogger(__name__)

# A request head (request line and headers) larger than this is refused with 400.
MAX_HEAD_BYTES = 16 * 1024


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head has not arrived
    within `header_seconds`: from the connection's start for its first request, from the
    first byte of each later one (between requests the keep-alive timeout applies).
    uvicorn itself waits for a head without end, so one byte a second holds a connection
    for ever."""

    header_seconds: ClassVar[float] = 10.0
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._arm()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_deadline is None:
            self._head_deadline = self.loop.call_later(self.header_seconds, self._head_overdue)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_overdue(self) -> None:
        self._head_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            log.info("closed a connection whose request head took over %ss", self.header_seconds)
            self.transport.close()


def with_header_deadline(seconds: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class uvicorn instantiates per connection, with this deadline."""
    return type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_seconds": seconds})


def server_config(
    app: ASGIApp, server: ServerConfig, *, host: str, port: int, log_level: str = "info"
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        # uvicorn's own handlers would print around `logging.format` and the credential
        # filter; without them its records go through the root handlers (bot.logs).
        log_config=None,
        http=with_header_deadline(server.header_timeout_seconds),
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        # Past this many open connections a new request is answered 503 at once.
        limit_concurrency=server.max_connections,
        timeout_graceful_shutdown=math.ceil(server.drain_seconds),
        # Longer than a load balancer's idle timeout (60 s is common), so the balancer,
        # not the bot, closes idle connections: otherwise a request sent as the bot
        # closes one fails with a 502.
        timeout_keep_alive=75,
    )
