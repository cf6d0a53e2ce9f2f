"""When the database cannot be reached, a Slack request still gets an answer.

Every answer normally goes through the outbox, which is a table: with the database down
nothing can be queued, and Slack does not retry a request it saw acked, so the user would
hear nothing. A listener wrapped here tells the user directly (the request's response_url,
else chat.postEphemeral) that the request could not be handled and to try again. The
connection pool reconnects by itself once the database is back (bot.db.engine).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot import messages
from bot.runtime import Runtime
from integrations.slack.errors import SlackError

log = logging.getLogger(__name__)

# A lost or refused connection, or a pool that cannot hand one out: not a bug of ours.
STORAGE_DOWN = (OperationalError, InterfaceError, PoolTimeout, ConnectionError)

Listener = Callable[[Callable[..., Awaitable[None]], dict[str, Any]], Awaitable[None]]


def answered_if_storage_fails(rt: Runtime, listener: Listener) -> Listener:
    """`listener` (Bolt passes `ack` and `body` by name), answering directly when the
    database fails under it."""

    async def guarded(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        try:
            await listener(ack, body)
        except STORAGE_DOWN as exc:
            log.warning("Slack request not handled, storage unavailable: %s", type(exc).__name__)
            await _tell_directly(rt, body)

    return guarded


async def _tell_directly(rt: Runtime, body: dict[str, Any]) -> None:
    web = rt.slack_direct
    if web is None:
        return
    text = messages.STORAGE_UNAVAILABLE
    try:
        url = body.get("response_url")
        if isinstance(url, str) and url:
            await web.respond(url, {"response_type": "ephemeral", "text": text})
            return
        event = body.get("event") or {}
        if event.get("channel") and event.get("user"):
            payload = {"channel": event["channel"], "user": event["user"], "text": text}
            if event.get("thread_ts"):
                payload["thread_ts"] = event["thread_ts"]
            await web.call("chat.postEphemeral", payload)
    except SlackError as exc:  # Slack down too: nothing more can be done for this request
        log.warning("could not tell the user storage is unavailable: %s", exc)
