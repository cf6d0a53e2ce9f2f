"""The permission step: run by the command and button dispatch before any handler.

In order: the verb must have a `permissions:` rule (default deny), the caller must hold
one of its roles, and work on an incident must come from the incident's own channel or
thread when it was typed there; a button on the incident's own messages, the App Home and
a modal opened from them act on it wherever they are (docs/security.md, "Where a request
may act from"). Whatever the answer, one `command.invoked` audit row records who asked for what,
from where, and whether it was let through and why; reads included.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot import messages
from bot.audit import vocabulary as v
from bot.audit.actors import person
from bot.audit.hash_chain import AuditKeyMissing, KeyRing
from bot.audit.models import LIMITS
from bot.audit.writer import append
from bot.db.unit_of_work import writing
from bot.permissions.roles import holds
from bot.permissions.scope import IncidentRef
from bot.permissions.usergroups import role_book
from bot.registry import CommandError
from bot.runtime import Runtime

log = logging.getLogger(__name__)

# Enough of what was typed for a reviewer; the rest is in the handler's own rows.
TEXT_KEPT = 500
# The step's label in `watchkeeper_guard_denials`, as the guard chain's role guard has.
GUARD_LABEL = "permission"

FindScope = Callable[[], Awaitable[IncidentRef | None]]


@dataclass(frozen=True)
class Ask:
    """One invocation as the step sees it."""

    # `/fleet restart` for a command, `button incident:resolve` for a click.
    what: str
    verb: str | None
    user_id: str
    user_name: str
    channel_id: str
    thread_ts: str | None
    # The command text as typed, or the button's value.
    text: str
    # Where it was asked from: "channel" (a command, an @mention, a message's button),
    # "app_home", "modal" (its origin sealed in the view), "shortcut", or "console" (the
    # fallback console, docs/fallback.md).
    surface: str = "channel"


# Surfaces that carry the incident they act on with them (a button of the App Home, a
# modal sealed by the bot when it opened it from the incident's own button): their place
# is the incident itself, not the channel the person happens to look at.
# The console has no channel to be in: it acts on an incident wherever it is.
SURFACES_BOUND_TO_TARGET = frozenset({"app_home", "modal", "console"})


@dataclass(frozen=True)
class Permit:
    allowed: bool
    reason: str = ""
    incident: IncidentRef | None = None


async def _place(rt: Runtime, ask: Ask, find: FindScope | None) -> Permit:
    if find is None:
        return Permit(True)
    try:
        ref = await find()
    except CommandError as exc:  # the user's mistake (e.g. which incident): their answer
        return Permit(False, str(exc))
    if ref is None:
        return Permit(True)
    if ask.surface in SURFACES_BOUND_TO_TARGET:
        return Permit(True, incident=ref)
    lookup = rt.hooks.incident_channel
    if lookup is None:
        return Permit(False, messages.PLACE_UNCHECKABLE, ref)
    channel = await lookup(rt, ref)
    if channel is None or channel == ask.channel_id:
        # No such incident: the handler says so, and it has nothing to change.
        return Permit(True, incident=ref)
    return Permit(False, messages.incident_elsewhere(ref.kind, ref.id, channel), ref)


async def decide(rt: Runtime, ask: Ask, find: FindScope | None = None) -> Permit:
    """Whether `ask` may run, without writing anything."""
    if ask.verb is None:
        return Permit(False, messages.PERMISSION_UNKNOWN_WORD)
    rule = rt.config.permissions.rule_for(ask.verb)
    if rule is None:
        return Permit(False, messages.verb_no_rule(ask.verb))
    if not holds(role_book(rt), ask.user_id, rule[1]):
        return Permit(False, messages.verb_not_permitted(ask.verb, rule[1]))
    return await _place(rt, ask, find)


async def record(rt: Runtime, ask: Ask, permit: Permit) -> None:
    """The invocation's audit row, in its own transaction before the handler runs, so a
    handler that fails half-way still leaves who asked for it."""
    try:
        keys = KeyRing.from_config(rt.config.audit)
    except AuditKeyMissing:
        # Without a key nothing can be recorded; actions refuse on their own (AuditReady).
        log.warning("no audit key: invocation of %s by %s not recorded", ask.what, ask.user_id)
        return
    # Everything typed is cut before redaction and storage: a huge command must cost
    # no more to record than a short one.
    params = {
        "command": ask.what[:TEXT_KEPT],
        "verb": ask.verb,
        "channel": ask.channel_id[:TEXT_KEPT],
        "thread_ts": (ask.thread_ts or "")[:TEXT_KEPT] or None,
        "text": ask.text[:TEXT_KEPT],
        "surface": ask.surface,
        "allowed": permit.allowed,
        "reason": permit.reason[:TEXT_KEPT] or None,
        "incident": None
        if permit.incident is None
        else f"{permit.incident.kind}:{permit.incident.id}",
    }
    async with writing(rt.sessions) as session:
        await append(
            session,
            key=keys,
            actor=person(ask.user_id[: LIMITS["actor"]], ask.user_name[: LIMITS["actor_name"]]),
            action=v.COMMAND_INVOKED,
            target=(ask.verb or ask.what)[: LIMITS["target"]],
            params=params,
            outcome=v.ALLOWED if permit.allowed else v.REFUSED,
            clock=rt.clock,
        )


async def permit(rt: Runtime, ask: Ask, find: FindScope | None = None) -> Permit:
    """Decide and record: the one step every command and button passes."""
    answer = await decide(rt, ask, find)
    if not answer.allowed:
        # Counted beside the guard chain's refusals: one series shows who is turned away.
        rt.metrics.guard_denied(GUARD_LABEL)
    await record(rt, ask, answer)
    return answer
