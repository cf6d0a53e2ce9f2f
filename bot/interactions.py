"""Button clicks: one registry from `action_id` prefix to handler, like commands have.

An `action_id` is `<prefix>:<anything>`; the part before the first colon picks the
handler, the button's `value` carries its parameters. A click is acked before its handler
runs, and a Slack retry of the same click runs nothing (see `first_delivery`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from bot.outbox import Message

# The frozen `Runtime` when the bot runs; generic so this module does not import the
# runtime that holds the registry.
Ctx = TypeVar("Ctx")


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
        """The click, from Slack's payload; a field of another type than Slack's reads as
        absent, so a malformed payload gets a refusal rather than a crash."""
        container = _object(body.get("container"))
        message = _object(body.get("message"))
        user = _object(body.get("user"))
        message_ts = _text(container.get("message_ts"))
        return cls(
            action_id=_text(action.get("action_id")) or "",
            value=_text(action.get("value")),
            user_id=_text(user.get("id")) or "",
            user_name=_text(user.get("username")) or _text(user.get("name")) or "",
            channel_id=_text(container.get("channel_id"))
            or _text(_object(body.get("channel")).get("id"))
            or "",
            message_ts=message_ts,
            response_url=_text(body.get("response_url")) or None,
            trigger_id=_text(body.get("trigger_id")),
            thread_ts=_text(message.get("thread_ts")) or message_ts,
            ephemeral=container.get("is_ephemeral") is True,
        )


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


ClickHandler = Callable[[Click, Ctx], Awaitable[Message | None]]


@dataclass
class InteractionRegistry(Generic[Ctx]):
    _handlers: dict[str, ClickHandler[Ctx]] = field(default_factory=dict)

    def on(self, prefix: str) -> Callable[[ClickHandler[Ctx]], ClickHandler[Ctx]]:
        def register(handler: ClickHandler[Ctx]) -> ClickHandler[Ctx]:
            if prefix in self._handlers or ":" in prefix:
                raise ValueError(f"bad or duplicate action prefix {prefix!r}")
            self._handlers[prefix] = handler
            return handler

        return register

    def find(self, action_id: str) -> ClickHandler[Ctx] | None:
        return self._handlers.get(action_id.split(":", 1)[0])
