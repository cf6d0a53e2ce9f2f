"""The one registration path for slash commands: handlers, usage and the help built from them.

Command modules (`commands/<group>.py`) register subcommands here; the Bolt app routes
`/<group> <name> ...` through `CommandRegistry.dispatch`, and `help` is generated from the
same entries, so a command cannot exist without appearing in help.
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from bot import messages
from bot.outbox import Message
from bot.permissions.scope import IncidentRef
from bot.permissions.verbs import Verb, declared, pick

# What handlers get besides the invocation: the frozen `Runtime` when the bot runs. The
# registry is generic in it so that this module does not import the runtime, which
# holds the registry (one direction of import only).
Ctx = TypeVar("Ctx")


@dataclass(frozen=True)
class Caller:
    """Who asked, from where, and how to answer them."""

    user_id: str
    user_name: str
    channel_id: str
    response_url: str | None = None
    trigger_id: str | None = None
    # Set when the command came as an @mention inside a thread.
    thread_ts: str | None = None


@dataclass(frozen=True)
class Invocation:
    """One slash command (or @mention) as the handlers see it, after parsing."""

    group: str
    name: str
    args: list[str]
    caller: Caller
    # Text after `-- `: a free-form reason, kept verbatim.
    reason: str | None = None

    @property
    def user_id(self) -> str:
        return self.caller.user_id

    @property
    def channel_id(self) -> str:
        return self.caller.channel_id


Handler = Callable[[Invocation, Ctx], Awaitable[Message]]
# What an invocation acts on, when the permission step must check where it came from; a
# `CommandError` raised here is the user's answer (e.g. "which incident?").
Scope = Callable[[Invocation, Ctx], Awaitable[IncidentRef | None]]


@dataclass(frozen=True)
class Subcommand(Generic[Ctx]):
    group: str
    name: str
    usage: str
    summary: str
    handler: Handler[Ctx]
    # What `permissions:` rules name (bot.permissions): checked before `handler` runs.
    verb: Verb
    aliases: tuple[str, ...] = ()
    scope: Scope[Ctx] | None = None

    def verb_for(self, inv: Invocation) -> str | None:
        return pick(self.verb, inv.args[0] if inv.args else None)


class CommandError(Exception):
    """A user mistake in a command: shown to the user as it is, never a crash."""


@dataclass
class CommandRegistry(Generic[Ctx]):
    _entries: dict[str, dict[str, Subcommand[Ctx]]] = field(default_factory=dict)
    _summaries: dict[str, str] = field(default_factory=dict)
    # The group whose subcommands an @mention runs (`@watchkeeper ack` in a thread).
    mention_group: str | None = None

    def group(self, group: str, summary: str) -> None:
        self._entries.setdefault(group, {})
        self._summaries[group] = summary

    def add(
        self,
        group: str,
        name: str,
        *,
        usage: str,
        summary: str,
        verb: Verb,
        aliases: tuple[str, ...] = (),
        scope: Scope[Ctx] | None = None,
    ) -> Callable[[Handler[Ctx]], Handler[Ctx]]:
        """Register a subcommand; `verb` is required and checked now, so no handler can
        exist that the permission step does not know how to judge."""
        declared(verb)

        def register(handler: Handler[Ctx]) -> Handler[Ctx]:
            entry = Subcommand(group, name, usage, summary, handler, verb, aliases, scope)
            table = self._entries.setdefault(group, {})
            for word in (name, *aliases):
                if word in table:
                    raise ValueError(f"/{group} {word} registered twice")
                table[word] = entry
            return handler

        return register

    def verbs(self) -> list[Verb]:
        return [e.verb for table in self._entries.values() for e in table.values()]

    def groups(self) -> list[str]:
        return sorted(self._entries)

    def subcommands(self, group: str) -> list[Subcommand[Ctx]]:
        seen: dict[str, Subcommand[Ctx]] = {}
        for entry in self._entries.get(group, {}).values():
            seen.setdefault(entry.name, entry)
        return sorted(seen.values(), key=lambda e: e.name)

    def summary(self, group: str) -> str:
        return self._summaries.get(group, "")

    def find(self, group: str, word: str) -> Subcommand[Ctx] | None:
        return self._entries.get(group, {}).get(word)

    def suggest(self, group: str, word: str) -> str | None:
        close = difflib.get_close_matches(word, list(self._entries.get(group, {})), n=1)
        return close[0] if close else None


def split_command_text(text: str) -> tuple[list[str], str | None]:
    """Words of the command and the reason after `--`; quotes group words like a shell."""
    head, sep, reason = text.partition(" -- ")
    if not sep and text.strip().endswith(" --"):
        head = text.strip()[:-3]
    try:
        words = shlex.split(head)
    except ValueError as exc:
        raise CommandError(messages.unbalanced_quotes(str(exc))) from None
    return words, (reason.strip() or None) if sep else None
