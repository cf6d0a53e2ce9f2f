"""Writing Slack messages into the outbox, inside the caller's transaction.

The caller commits; a message exists exactly when the state change that caused it does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, utcnow
from bot.db.models import OutboxMessage

RESPONSE_LANE_PREFIX = "resp:"
# A file shared through Slack's external upload: three calls, one row (worker.py).
UPLOAD = "files.upload.external"
# A queued row replaced by a newer one before it was sent; the worker skips it.
SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Message:
    """What to show: `text` is the notification and fallback; `blocks` the Block Kit body."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"text": self.text}
        if self.blocks:
            body["blocks"] = self.blocks
        return body


def _row(
    lane: str, method: str, payload: dict[str, Any], clock: Clock, **keys: str | None
) -> OutboxMessage:
    now = clock()
    return OutboxMessage(
        lane=lane,
        method=method,
        payload=json.dumps(payload, separators=(",", ":"), sort_keys=True),
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        **keys,
    )


def post(
    session: AsyncSession,
    *,
    channel: str,
    message: Message,
    key: str | None = None,
    thread_key: str | None = None,
    clock: Clock = utcnow,
) -> OutboxMessage:
    """A channel message; `key` names it for later replies and updates, `thread_key` threads it.

    Returns the row, so a caller can find it again (its `id` once flushed)."""
    payload = {"channel": channel, **message.payload()}
    row = _row(channel, "chat.postMessage", payload, clock, message_key=key, thread_key=thread_key)
    session.add(row)
    return row


async def update(
    session: AsyncSession, *, channel: str, key: str, message: Message, clock: Clock = utcnow
) -> OutboxMessage:
    """Edit a keyed message in place; a still-pending edit of it is superseded by this one.

    The waiting row is taken out of its lane by a conditional UPDATE (status pending →
    superseded) and a new row queued, rather than its payload rewritten: a worker that has
    already claimed it would send the stale payload, and the edit would be lost. This way
    the newest edit is always the last one sent. Returns the new row."""
    await session.execute(
        sql_update(OutboxMessage)
        .where(
            OutboxMessage.method == "chat.update",
            OutboxMessage.target_key == key,
            OutboxMessage.status == "pending",
        )
        .values(status=SUPERSEDED)
    )
    row = _row(
        channel, "chat.update", {"channel": channel, **message.payload()}, clock, target_key=key
    )
    session.add(row)
    return row


# A message that links another of ours: `LINK_SLOT` in its text is replaced, when it is
# sent, by the permalink Slack gives (chat.getPermalink) for the message keyed `link_key`.
# The linked message may sit in another lane and go out later: the worker waits for it.
LINK_SLOT = "{permalink}"
LINK_FIELD = "link_key"


def post_linking(
    session: AsyncSession,
    *,
    channel: str,
    message: Message,
    link_key: str,
    clock: Clock = utcnow,
) -> OutboxMessage:
    """`post`, with `LINK_SLOT` in `message` filled by the permalink of `link_key`'s message."""
    payload = {"channel": channel, **message.payload(), LINK_FIELD: link_key}
    row = _row(channel, "chat.postMessage", payload, clock)
    session.add(row)
    return row


def ephemeral(
    session: AsyncSession,
    *,
    channel: str,
    user: str,
    message: Message,
    thread_key: str | None = None,
    thread_ts: str | None = None,
    clock: Clock = utcnow,
) -> None:
    """A message only `user` sees; paced apart from the channel's public messages.

    In a thread by its key (`thread_key`, resolved at delivery) or by a known `thread_ts`.
    """
    payload = {"channel": channel, "user": user, **message.payload()}
    if thread_ts:
        payload["thread_ts"] = thread_ts
    session.add(_row(f"eph:{channel}", "chat.postEphemeral", payload, clock, thread_key=thread_key))


def respond(
    session: AsyncSession,
    *,
    response_url: str,
    channel: str,
    user: str,
    message: Message,
    in_channel: bool = False,
    replace_original: bool = False,
    clock: Clock = utcnow,
) -> None:
    """Answer a slash command or a button click through its `response_url`."""
    payload: dict[str, Any] = {
        "response_url": response_url,
        "response_type": "in_channel" if in_channel else "ephemeral",
        "replace_original": replace_original,
        **message.payload(),
    }
    session.add(_row(f"{RESPONSE_LANE_PREFIX}{channel}:{user}", "response_url", payload, clock))


def upload(
    session: AsyncSession,
    *,
    channel: str,
    filename: str,
    title: str,
    content: str,
    thread_key: str | None = None,
    clock: Clock = utcnow,
) -> OutboxMessage:
    """A text file shared in the channel (in the thread of the message `thread_key` names),
    paced in the channel's lane like a post."""
    payload = {"channel": channel, "filename": filename, "title": title, "content": content}
    row = _row(channel, UPLOAD, payload, clock, thread_key=thread_key)
    session.add(row)
    return row


def publish_view(
    session: AsyncSession,
    *,
    lane: str,
    user: str,
    view: dict[str, Any],
    clock: Clock = utcnow,
) -> None:
    """A person's App Home (`views.publish`), in its own lane so it never waits behind,
    or holds back, a channel's messages."""
    session.add(_row(lane, "views.publish", {"user_id": user, "view": view}, clock))
