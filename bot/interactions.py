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
from bot.permissions.scope import IncidentRef
from bot.permissions.verbs import Verb, declared, pick

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

    @property
    def word(self) -> str | None:
        """The action's word after the prefix (`incident:resolve` -> `resolve`)."""
        parts = self.action_id.split(":")
        return parts[1] if len(parts) > 1 else None

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
# What a click acts on, when the permission step must check where it came from.
ClickScope = Callable[[Click, Ctx], Awaitable[IncidentRef | None]]


@dataclass(frozen=True)
class Button(Generic[Ctx]):
    handler: ClickHandler[Ctx]
    # What `permissions:` rules name (bot.permissions); a `VerbChoice` picks by `Click.word`.
    verb: Verb
    scope: ClickScope[Ctx] | None = None

    def verb_for(self, click: Click) -> str | None:
        return pick(self.verb, click.word)


@dataclass
class InteractionRegistry(Generic[Ctx]):
    _buttons: dict[str, Button[Ctx]] = field(default_factory=dict)

    def on(
        self, prefix: str, *, verb: Verb, scope: ClickScope[Ctx] | None = None
    ) -> Callable[[ClickHandler[Ctx]], ClickHandler[Ctx]]:
        """Register a button handler; `verb` is required and checked now (see
        `CommandRegistry.add`)."""
        declared(verb)

        def register(handler: ClickHandler[Ctx]) -> ClickHandler[Ctx]:
            if prefix in self._buttons or ":" in prefix:
                raise ValueError(f"bad or duplicate action prefix {prefix!r}")
            self._buttons[prefix] = Button(handler, verb, scope)
            return handler

        return register

    def find(self, action_id: str) -> Button[Ctx] | None:
        return self._buttons.get(action_id.split(":", 1)[0])

    def prefixes(self) -> list[str]:
        """Every registered action id prefix (the hostile-input suite clicks each)."""
        return sorted(self._buttons)

    def verbs(self) -> list[Verb]:
        return [b.verb for b in self._buttons.values()]
