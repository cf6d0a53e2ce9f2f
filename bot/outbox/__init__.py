"""The durable outbox: every Slack write is a row first, delivered by `OutboxWorker`."""

from bot.outbox.enqueue import Message, ephemeral, post, respond, update, upload

__all__ = ["Message", "ephemeral", "post", "respond", "update", "upload"]
