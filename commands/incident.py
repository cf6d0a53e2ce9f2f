"""`/incident`: open, acknowledge, resolve, note, assign, list and silence incidents; the
same words as an @mention inside an incident thread act on that thread's incident; and
the buttons of the incident and storm roots.

Parsing and rendering only: what each word does is in `bot.incidents.service` and
`.silences`, what it reads in `.queries`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from bot import block_kit, messages
from bot.actions import action_form, flow
from bot.actions.guard_chain import Person
from bot.incidents import incident_from_message, queries, service, silence_form, silences
from bot.incidents.incident_blocks import SEVERITY_ICON, duration, headline, who
from bot.incidents.membership import thread_owner
from bot.incidents.timeline import TimelineRefused, timeline_of
from bot.incidents.timeline_blocks import timeline_message
from bot.interactions import Click, InteractionRegistry
from bot.modals import open_modal
from bot.outbox import Message
from bot.parts import AppParts
from bot.permissions.roles import known_people
from bot.permissions.scope import IncidentRef
from bot.permissions.verbs import VerbChoice
from bot.registry import Caller, CommandError, CommandRegistry, Invocation
from bot.runtime import Runtime
from bot.slack_ids import named_user

# ASCII digits, at most 18: every such number fits the BIGINT id column.
_ID = re.compile(r"#?([0-9]{1,18})")
LIST_SHOWN = 20


def incident_number(word: str) -> int | None:
    """The incident a word names (`42` or `#42`), matched whole."""
    found = _ID.fullmatch(word)
    return int(found.group(1)) if found else None


async def _thread_target(rt: Runtime, caller: Caller) -> tuple[str, int] | None:
    """("incident" | "storm", id) of the thread the caller spoke in, if it is one of ours."""
    if not caller.thread_ts:
        return None
    return await thread_owner(rt, caller.channel_id, caller.thread_ts)


async def _target(inv: Invocation, rt: Runtime) -> tuple[str, int, list[str]]:
    """Which incident (or storm) the words are about, and the words left.

    In order: an explicit `#42`; the thread the @mention was made in; the one open
    incident of the channel. Never a guess between several.
    """
    args = list(inv.args)
    if args and (number := incident_number(args[0])) is not None:
        return "incident", number, args[1:]
    found = await _thread_target(rt, inv.caller)
    if found is not None:
        return found[0], found[1], args
    if inv.caller.thread_ts and not inv.caller.response_url:
        # An @mention outside our threads: acting on "the" open incident would be a guess.
        raise CommandError(messages.MENTION_HELP)
    open_ids = await queries.open_in_channel(rt, channel=inv.channel_id, limit=6)
    if len(open_ids) == 1:
        return "incident", open_ids[0], args
    raise CommandError(messages.which_incident(rt.command_name("incident"), open_ids))


async def scope(inv: Invocation, rt: Runtime) -> IncidentRef:
    """The incident (or storm) the words are about, for the permission step's place check."""
    kind, number, _ = await _target(inv, rt)
    return IncidentRef("storm" if kind == "storm" else "incident", number)


async def _incident_only(inv: Invocation, rt: Runtime) -> tuple[int, list[str]]:
    kind, number, rest = await _target(inv, rt)
    if kind != "incident":
        raise CommandError(messages.STORM_THREAD_HINT)
    return number, rest


def _answer(text: str) -> Message:
    return Message(text=text)


async def new(inv: Invocation, rt: Runtime) -> Message:
    title = " ".join(inv.args).strip()
    if not title:
        raise CommandError(messages.usage(rt.command_name("incident"), "new <title>"))
    incident = await service.open_manual(rt, title=title, user=inv.user_id, channel=inv.channel_id)
    return _answer(messages.incident_opened_answer(incident.id))


async def ack(inv: Invocation, rt: Runtime) -> Message:
    kind, number, _ = await _target(inv, rt)
    if kind == "storm":
        return _answer(
            await service.storm_change(rt, storm_id=number, user=inv.user_id, resolve_all=False)
        )
    return _answer(await service.acknowledge(rt, incident_id=number, user=inv.user_id))


async def resolve(inv: Invocation, rt: Runtime) -> Message:
    kind, number, _ = await _target(inv, rt)
    if kind == "storm":
        return _answer(
            await service.storm_change(rt, storm_id=number, user=inv.user_id, resolve_all=True)
        )
    return _answer(await service.resolve(rt, incident_id=number, user=inv.user_id))


async def note(inv: Invocation, rt: Runtime) -> Message:
    number, rest = await _incident_only(inv, rt)
    text = " ".join(rest + ([f"-- {inv.reason}"] if inv.reason else [])).strip()
    if not text:
        raise CommandError(messages.usage(rt.command_name("incident"), "note [#id] <text>"))
    return _answer(await service.add_note(rt, incident_id=number, user=inv.user_id, text=text))


async def assign(inv: Invocation, rt: Runtime) -> Message:
    number, rest = await _incident_only(inv, rt)
    assignee = named_user(rest[0]) if len(rest) == 1 else None
    if assignee is None:
        raise CommandError(messages.usage(rt.command_name("incident"), "assign [#id] @user"))
    if assignee not in known_people(rt.config):
        # The bot mentions the assignee: only someone the configuration names.
        raise CommandError(messages.assignee_unknown(assignee))
    return _answer(
        await service.assign(rt, incident_id=number, user=inv.user_id, assignee=assignee)
    )


async def silence(inv: Invocation, rt: Runtime) -> Message:
    number, rest = await _incident_only(inv, rt)
    if not rest:
        now = rt.clock()
        rows = await silences.active_silences(rt, number)
        if not rows:
            return _answer(messages.no_silences(number))
        return _answer("\n".join(silences.describe_silence(r, now) for r in rows))
    if rest[0].lower() in ("off", "lift", "end"):
        return _answer(await silences.lift(rt, incident_id=number, user=inv.user_id))
    span = silences.parse_duration(rest[0], rt.config.silences.max_hours)
    return _answer(await silences.silence(rt, incident_id=number, user=inv.user_id, duration=span))


async def list_open(inv: Invocation, rt: Runtime) -> Message:
    everywhere = bool(inv.args) and inv.args[0].lower() == "all"
    listing = await queries.open_incidents(
        rt, channel=None if everywhere else inv.channel_id, limit=LIST_SHOWN
    )
    shown = listing.shown
    if not shown:
        return _answer(messages.NO_OPEN_INCIDENTS)
    now = rt.clock()
    lines = [
        f"{SEVERITY_ICON.get(i.severity, '')} *#{i.id}* {headline(i)} · "
        f"{duration((now - i.opened_at).total_seconds())}"
        + (f" · {who(i.acknowledged_by)}" if i.acknowledged_by else "")
        for i in shown
    ]
    if listing.total > len(shown):
        lines.append(messages.more_incidents(listing.total - len(shown)))
    title = messages.open_incidents_title(listing.total, everywhere)
    out = [block_kit.header(title), block_kit.section("\n".join(lines))]
    if listing.active_storms:
        out.append(block_kit.context(messages.active_storms(
            [(s.id, s.storm_key, s.incident_count) for s in listing.active_storms]
        )))  # fmt: skip
    return Message(text=title, blocks=out)


async def timeline(inv: Invocation, rt: Runtime) -> Message:
    number, _ = await _incident_only(inv, rt)
    try:
        return timeline_message(await timeline_of(rt, number))
    except TimelineRefused as exc:
        return _answer(messages.timeline_refused(str(exc)))


# Words that act on one incident run only from its channel or thread (`scope`).
ON_ONE_INCIDENT = frozenset({"ack", "resolve", "note", "assign", "silence", "timeline"})
SUBCOMMANDS: tuple[
    tuple[str, str, str, Callable[[Invocation, Runtime], Awaitable[Message]]], ...
] = (
    ("new", "new <title>", "open an incident by hand, with its thread here", new),
    ("ack", "ack [#id]", "acknowledge: you are on it (stops escalation)", ack),
    ("resolve", "resolve [#id]", "resolve the incident", resolve),
    ("note", "note [#id] <text>", "add a note to the incident's timeline", note),
    ("assign", "assign [#id] @user", "name who owns the incident", assign),
    ("list", "list [all]", "open incidents in this channel (or in all)", list_open),
    ("silence", "silence [#id] [2h|off]", "silence its alerts for a while; off ends it", silence),
    ("timeline", "timeline [#id]", "what happened, in order, from the verified record", timeline),
)
VERBS = {"new": "incident.open"}


def register(registry: CommandRegistry[Runtime]) -> None:
    registry.group("incident", "open, acknowledge and resolve incidents")
    for name, usage, summary, handler in SUBCOMMANDS:
        registry.add(
            "incident",
            name,
            usage=usage,
            summary=summary,
            verb=VERBS.get(name, f"incident.{name}"),
            aliases=("acknowledge",) if name == "ack" else (),
            scope=scope if name in ON_ONE_INCIDENT else None,
        )(handler)


ClickAction = Callable[[Click, Runtime, int], Awaitable[str]]


def _click(action: ClickAction) -> Callable[[Click, Runtime], Awaitable[Message | None]]:
    async def on_click(click: Click, rt: Runtime) -> Message | None:
        if click.action_id.startswith("incident:act:"):
            return await _suggested_action(click, rt)
        number = incident_number(click.value or "")
        if number is None:
            return Message(text=messages.STALE_BUTTON)
        if click.action_id == silence_form.BUTTON:
            return await _silence_form(click, rt, number)
        return Message(text=await action(click, rt, number))

    return on_click


async def _suggested_action(click: Click, rt: Runtime) -> Message | None:
    """A suggested repair action clicked on the root: into the guarded action flow, as if
    the clicker had typed the `/fleet` command in the incident's thread."""
    try:
        wanted = json.loads(click.value or "")
        incident_id, action = incident_number(str(wanted["incident"])), str(wanted["action"])
        params = {str(k): str(v) for k, v in dict(wanted.get("params") or {}).items()}
    except (ValueError, KeyError, TypeError):
        return Message(text=messages.STALE_BUTTON)
    if incident_id is None:
        return Message(text=messages.STALE_BUTTON)
    target = await queries.service_to_repair(rt, incident_id=incident_id)
    if target is None:
        return Message(text=messages.STALE_BUTTON)
    if action_form.needs_form(action, params):
        origin = {
            "channel": click.channel_id,
            "thread_ts": click.thread_ts,
            "incident": incident_id,
        }
        view = await action_form.action_view(
            rt, action=action, target=target, given=params, origin=origin
        )
        return await _opened(rt, click, view, f"/fleet {action} {target}")
    draft = flow.Draft(
        action=action,
        target=target,
        params=dict(params),
        requester=Person(click.user_id, click.user_name),
        channel_id=click.channel_id,
        # The same click retried by Slack carries the same trigger_id: one request.
        idempotency_key=f"slack:{click.trigger_id or uuid.uuid4().hex}",
        thread_ts=click.thread_ts,
    )
    return await flow.submit(rt, draft)


async def _opened(rt: Runtime, click: Click, view: dict[str, Any], command: str) -> Message | None:
    """Open `view` on the click's trigger; nothing to say when it opened."""
    error = await open_modal(rt, click.trigger_id, view)
    return None if error is None else Message(text=messages.form_not_opened(error, command))


async def _silence_form(click: Click, rt: Runtime, number: int) -> Message | None:
    view = await silence_form.silence_view(
        rt, incident_id=number, origin={"channel": click.channel_id, "thread_ts": click.thread_ts}
    )
    return await _opened(rt, click, view, f"/incident silence #{number} 2h")


async def _incident_button(click: Click, rt: Runtime, number: int) -> str:
    verb = click.action_id.split(":")
    if verb[1:2] == ["ack"]:
        return await service.acknowledge(rt, incident_id=number, user=click.user_id)
    if verb[1:2] == ["resolve"]:
        return await service.resolve(rt, incident_id=number, user=click.user_id)
    if verb[1:2] == ["silence"] and len(verb) == 3:
        span = silences.parse_duration(verb[2], rt.config.silences.max_hours)
        return await silences.silence(rt, incident_id=number, user=click.user_id, duration=span)
    return messages.STALE_BUTTON


async def _storm_button(click: Click, rt: Runtime, number: int) -> str:
    resolve_all = click.action_id == "storm:resolve"
    return await service.storm_change(
        rt, storm_id=number, user=click.user_id, resolve_all=resolve_all
    )


async def click_scope(click: Click, rt: Runtime) -> IncidentRef | None:
    """The incident (or storm) a root's button acts on; None for a value we never wrote
    (the handler answers that the button is stale)."""
    value = click.value or ""
    if click.word == "act" and click.prefix == "incident":
        try:
            number = incident_number(str(json.loads(value)["incident"]))
        except (ValueError, KeyError, TypeError):
            return None
        return IncidentRef("incident", number) if number is not None else None
    number = incident_number(value)
    if number is None:
        return None
    return IncidentRef("storm" if click.prefix == "storm" else "incident", number)


INCIDENT_BUTTONS = VerbChoice(
    {
        "ack": "incident.ack",
        "resolve": "incident.resolve",
        "silence": "incident.silence",
        # A suggested repair: the guard chain of the action decides the rest.
        "act": "fleet.suggested",
    }
)
STORM_BUTTONS = VerbChoice({"ack": "incident.ack", "resolve": "incident.resolve"})


def register_buttons(interactions: InteractionRegistry[Runtime]) -> None:
    interactions.on("incident", verb=INCIDENT_BUTTONS, scope=click_scope)(_click(_incident_button))
    interactions.on("storm", verb=STORM_BUTTONS, scope=click_scope)(_click(_storm_button))
    interactions.form(
        silence_form.FORM_ID,
        verb="incident.silence",
        check=silence_form.check,
        scope=silence_form.scope,
    )(silence_form.submit)
    interactions.shortcut(
        incident_from_message.SHORTCUT_ID,
        verb="incident.open",
        name=messages.SHORTCUT_NAME,
        description=messages.SHORTCUT_DESCRIPTION,
    )(incident_from_message.open_from_message)


def install(parts: AppParts) -> None:
    register(parts.commands)
    register_buttons(parts.buttons)
    # `@watchkeeper ack` in an incident thread runs `/incident ack`.
    parts.commands.mention_group = "incident"
