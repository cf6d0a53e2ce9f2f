"""Socket Mode: Slack's requests over a WebSocket the bot opens, for a bot with no public
URL (README, "HTTP or Socket Mode").

Bolt's aiohttp Socket Mode client speaks the protocol: `apps.connections.open` with the
app-level token, the `hello`, one ack per envelope, and a new connection when Slack sends
`disconnect` or the socket drops. Each envelope goes to the same Bolt app as an HTTP
request does, so the listeners ack first and work after, and an envelope Slack sends again
(its ack lost with a dropped connection) runs once: `first_delivery` in bot/slack_app.py
knows its `trigger_id` or `event_id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import (
    run_async_bolt_app,
    send_async_response,
)
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

log = logging.getLogger(__name__)

# How often the client pings Slack; a connection silent for four of these is replaced.
PING_SECONDS = 10.0
# How often whether the socket is open is reported (read from the client, no network).
WATCH_SECONDS = 2.0


class _AckingHandler(AsyncSocketModeHandler):
    """Bolt's handler acks only what Bolt answered 200; an envelope no listener wants
    (Bolt's 404) or one it could not read would be sent again and again by Slack. Every
    envelope is acked: an ack says "received", and a redelivery could not go better."""

    async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        start = time.time()
        try:
            answer = await run_async_bolt_app(self.app, req)
        except Exception as exc:
            # Bolt reads ids out of the payload before any listener and raises on one it
            # cannot read (`"team": 5`): as over HTTP (bot/asgi.py), the sender's error.
            log.info("Socket Mode %s envelope unreadable (%s); acked", req.type, type(exc).__name__)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        if answer.status == 200:
            await send_async_response(client, req, answer, start)
            return
        log.info(
            "Socket Mode %s envelope answered %d by the app; acked without a payload",
            req.type, answer.status,
        )  # fmt: skip
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))


class SocketModeLink:
    """The bot's Socket Mode connection: `run` connects (retrying while Slack is away),
    after which the client reconnects by itself, and reports every `WATCH_SECONDS` whether
    a socket is open (`/status`, docs/monitoring.md); `close` ends it for good."""

    def __init__(
        self,
        bolt: AsyncApp,
        app_token: str,
        *,
        connected: Callable[[], None],
        lost: Callable[[str], None],
        ping_seconds: float = PING_SECONDS,
    ):
        self._bolt = bolt
        self._app_token = app_token
        self._connected = connected
        self._lost = lost
        self._ping_seconds = ping_seconds
        self._handler: _AckingHandler | None = None

    async def run(self) -> None:
        # Built here, inside the running loop: the client starts its reader task at once.
        handler = self._handler = _AckingHandler(
            self._bolt, self._app_token, ping_interval=self._ping_seconds
        )
        connecting = asyncio.create_task(self._connect(handler))
        try:
            while True:
                await asyncio.sleep(WATCH_SECONDS)
                if await handler.client.is_connected():
                    self._connected()
                else:
                    self._lost("no open Socket Mode connection to Slack")
        finally:
            connecting.cancel()

    async def _connect(self, handler: _AckingHandler) -> None:
        await handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("Socket Mode connected")
        self._connected()

    async def close(self) -> None:
        handler, self._handler = self._handler, None
        if handler is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await handler.close_async()  # type: ignore[no-untyped-call]
