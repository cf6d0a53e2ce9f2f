"""The durable outbox: every Slack write is a row first, delivered by `OutboxWorker`."""

from bot.outbox.enqueue import (
    LINK_SLOT,
    Message,
    ephemeral,
    post,
    post_linking,
    respond,
    update,
    upload,
)

__all__ = [
    "LINK_SLOT",
    "Message",
    "ephemeral",
    "post",
    "post_linking",
    "respond",
    "update",
    "upload",
]
