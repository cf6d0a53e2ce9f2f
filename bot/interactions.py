"""Button clicks, modal submissions and message shortcuts: one registry from `action_id`
prefix (or a view's `callback_id`, or a shortcut's `callback_id`) to handler, like commands
have.

An `action_id` is `<prefix>:<anything>`; the part before the first colon picks the
handler, the button's `value` carries its parameters. A click is acked before its handler
runs, and a Slack retry of the same click runs nothing (see `first_delivery`). Every
registration declares its verb: the permission step judges a submission or a shortcut as
it judges a click (docs/actions.md, "Modals").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from bot.audit.actors import slack_name
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
    # Where the button was: "channel" (a message), "app_home" or "modal" (a view).
    surface: str = "channel"

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
            user_name=slack_name(_text(user.get("username")) or _text(user.get("name")) or ""),
            channel_id=_text(container.get("channel_id"))
            or _text(_object(body.get("channel")).get("id"))
            or "",
            message_ts=message_ts,
            response_url=_text(body.get("response_url")) or None,
            trigger_id=_text(body.get("trigger_id")),
            thread_ts=_text(message.get("thread_ts")) or message_ts,
            ephemeral=container.get("is_ephemeral") is True,
            surface=_surface(body),
        )


def _surface(body: dict[str, Any]) -> str:
    if _object(body.get("container")).get("type") != "view":
        return "channel"
    return "app_home" if _object(body.get("view")).get("type") == "home" else "modal"


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Submission:
    """A modal's `view_submission`, as handlers see it: the fields filled in and the
    origin the bot sealed into `private_metadata` when it opened the modal (verified; an
    origin never decides who may act: the permission step does)."""

    callback_id: str
    view_id: str
    user_id: str
    user_name: str
    # block_id -> the value typed or picked (a list for checkboxes).
    values: dict[str, str | list[str]]
    origin: dict[str, Any]

    def text(self, block_id: str) -> str:
        value = self.values.get(block_id)
        return value.strip() if isinstance(value, str) else ""

    def picked(self, block_id: str) -> list[str]:
        value = self.values.get(block_id)
        return list(value) if isinstance(value, list) else []

    @property
    def channel_id(self) -> str:
        return str(self.origin.get("channel") or "")

    @property
    def thread_ts(self) -> str | None:
        value = self.origin.get("thread_ts")
        return value if isinstance(value, str) and value else None

    @property
    def word(self) -> str | None:
        """What picks the verb of a `VerbChoice` (the action a form runs)."""
        value = self.origin.get("word")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Shortcut:
    """A message shortcut chosen on a message (`message_action`)."""

    callback_id: str
    user_id: str
    user_name: str
    channel_id: str
    message_ts: str
    message_text: str
    message_user: str
    trigger_id: str | None
    response_url: str | None

    @classmethod
    def from_payload(cls, body: dict[str, Any]) -> Shortcut:
        user, message = _object(body.get("user")), _object(body.get("message"))
        return cls(
            callback_id=_text(body.get("callback_id")) or "",
            user_id=_text(user.get("id")) or "",
            user_name=slack_name(_text(user.get("username")) or _text(user.get("name")) or ""),
            channel_id=_text(_object(body.get("channel")).get("id")) or "",
            message_ts=_text(message.get("ts")) or _text(body.get("message_ts")) or "",
            message_text=_text(message.get("text")) or "",
            message_user=_text(message.get("user")) or "",
            trigger_id=_text(body.get("trigger_id")),
            response_url=_text(body.get("response_url")) or None,
        )


ClickHandler = Callable[[Click, Ctx], Awaitable[Message | None]]
# Field errors (block_id -> what is wrong) found without the database, answered in the
# modal itself within Slack's 3 s; empty when the form may go on.
FormCheck = Callable[[Submission, Ctx], dict[str, str]]
FormHandler = Callable[[Submission, Ctx], Awaitable[Message | None]]
FormScope = Callable[[Submission, Ctx], Awaitable[IncidentRef | None]]
ShortcutHandler = Callable[[Shortcut, Ctx], Awaitable[Message | None]]
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


@dataclass(frozen=True)
class Form(Generic[Ctx]):
    """A modal the bot opens: what its submission needs (verb), checks and does."""

    verb: Verb
    check: FormCheck[Ctx]
    handler: FormHandler[Ctx]
    scope: FormScope[Ctx] | None = None

    def verb_for(self, submission: Submission) -> str | None:
        return pick(self.verb, submission.word)


@dataclass(frozen=True)
class ShortcutEntry(Generic[Ctx]):
    verb: Verb
    handler: ShortcutHandler[Ctx]
    # Shown in the app manifest's shortcut list.
    name: str
    description: str


@dataclass
class InteractionRegistry(Generic[Ctx]):
    _buttons: dict[str, Button[Ctx]] = field(default_factory=dict)
    _forms: dict[str, Form[Ctx]] = field(default_factory=dict)
    _shortcuts: dict[str, ShortcutEntry[Ctx]] = field(default_factory=dict)

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

    def form(
        self,
        callback_id: str,
        *,
        verb: Verb,
        check: FormCheck[Ctx],
        scope: FormScope[Ctx] | None = None,
    ) -> Callable[[FormHandler[Ctx]], FormHandler[Ctx]]:
        """Register a modal's submission handler under the view's `callback_id`."""
        declared(verb)

        def register(handler: FormHandler[Ctx]) -> FormHandler[Ctx]:
            if callback_id in self._forms:
                raise ValueError(f"duplicate form {callback_id!r}")
            self._forms[callback_id] = Form(verb, check, handler, scope)
            return handler

        return register

    def shortcut(
        self, callback_id: str, *, verb: Verb, name: str, description: str
    ) -> Callable[[ShortcutHandler[Ctx]], ShortcutHandler[Ctx]]:
        """Register a message shortcut; the manifest lists it (bot/manifest.py)."""
        declared(verb)

        def register(handler: ShortcutHandler[Ctx]) -> ShortcutHandler[Ctx]:
            if callback_id in self._shortcuts:
                raise ValueError(f"duplicate shortcut {callback_id!r}")
            self._shortcuts[callback_id] = ShortcutEntry(verb, handler, name, description)
            return handler

        return register

    def find_form(self, callback_id: str) -> Form[Ctx] | None:
        return self._forms.get(callback_id)

    def find_shortcut(self, callback_id: str) -> ShortcutEntry[Ctx] | None:
        return self._shortcuts.get(callback_id)

    def shortcuts(self) -> list[tuple[str, ShortcutEntry[Ctx]]]:
        return sorted(self._shortcuts.items())

    def find(self, action_id: str) -> Button[Ctx] | None:
        return self._buttons.get(action_id.split(":", 1)[0])

    def prefixes(self) -> list[str]:
        """Every registered action id prefix (the hostile-input suite clicks each)."""
        return sorted(self._buttons)

    def verbs(self) -> list[Verb]:
        return [
            *(b.verb for b in self._buttons.values()),
            *(f.verb for f in self._forms.values()),
            *(s.verb for s in self._shortcuts.values()),
        ]
