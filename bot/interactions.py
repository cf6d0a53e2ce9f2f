"""Button clicks: one registry from `action_id` prefix to handler, like commands have.

An `action_id` is `<prefix>:<anything>`; the part before the first colon picks the
handler, the button's `value` carries its parameters. A click is acked before its handler
runs, and a Slack retry of the same click runs nothing (see `first_delivery`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.outbox import Message

if TYPE_CHECKING:
    from bot.runtime import Runtime


@dataclass(frozen=True)
class Click:
    """One button click, as handlers see it."""

    action_id: str
    value: str | None
    user_id: str
    user_name: str
    channel_id: str
    message_ts: str | None
    response_url: str | None
    trigger_id: str | None
    # The thread the clicked message sits in (its own ts when it is a root).
    thread_ts: str | None = None
    ephemeral: bool = False

    @property
    def prefix(self) -> str:
        return self.action_id.split(":", 1)[0]

    @classmethod
    def from_payload(cls, body: dict[str, Any], action: dict[str, Any]) -> Click:
        container = body.get("container") or {}
        message = body.get("message") or {}
        user = body.get("user") or {}
        return cls(
            action_id=str(action.get("action_id", "")),
            value=action.get("value") if isinstance(action.get("value"), str) else None,
            user_id=str(user.get("id", "")),
            user_name=str(user.get("username") or user.get("name") or ""),
            channel_id=str(
                container.get("channel_id") or (body.get("channel") or {}).get("id", "")
            ),
            message_ts=container.get("message_ts"),
            response_url=body.get("response_url") or None,
            trigger_id=body.get("trigger_id"),
            thread_ts=message.get("thread_ts") or container.get("message_ts"),
            ephemeral=bool(container.get("is_ephemeral")),
        )


ClickHandler = Callable[[Click, "Runtime"], Awaitable[Message | None]]


@dataclass
class InteractionRegistry:
    _handlers: dict[str, ClickHandler] = field(default_factory=dict)

    def on(self, prefix: str) -> Callable[[ClickHandler], ClickHandler]:
        def register(handler: ClickHandler) -> ClickHandler:
            if prefix in self._handlers or ":" in prefix:
                raise ValueError(f"bad or duplicate action prefix {prefix!r}")
            self._handlers[prefix] = handler
            return handler

        return register

    def find(self, action_id: str) -> ClickHandler | None:
        return self._handlers.get(action_id.split(":", 1)[0])
