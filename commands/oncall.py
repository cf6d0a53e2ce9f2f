"""`/oncall`: who is on call, overrides, and a preview of the handoff summary."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta

from bot import block_kit, messages
from bot.audit.actors import Actor
from bot.oncall import service
from bot.oncall.config import Rotation
from bot.oncall.handoff_blocks import handoff_message
from bot.oncall.handoff_posting import stale_note
from bot.oncall.pagerduty import ScheduleUnavailable
from bot.oncall.roster import Roster, mention
from bot.outbox import Message
from bot.parts import AppParts
from bot.registry import CommandError, CommandRegistry, Invocation
from bot.runtime import Runtime
from bot.slack_ids import named_user

_DURATION = re.compile(r"(\d{1,4})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def _rotation(rt: Runtime, args: list[str]) -> tuple[Rotation, list[str]]:
    rotations = rt.config.oncall.rotations
    if not rotations:
        raise CommandError(messages.NO_ROTATIONS)
    if args and (found := rt.config.oncall.rotation(args[0])) is not None:
        return found, args[1:]
    if len(rotations) == 1:
        return rotations[0], args
    names = ", ".join(f"`{r.name}`" for r in rotations)
    raise CommandError(messages.which_rotation(names))


def _until(text: str, now: datetime) -> datetime:
    match = _DURATION.fullmatch(text)
    if match:
        return now + timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(messages.BAD_UNTIL) from None
    if when.tzinfo is None:
        raise CommandError(messages.BAD_UNTIL)
    return when


def _local(when: datetime, rotation: Rotation) -> str:
    # With the date: an override may end days away, and "Thu 09:00" alone reads as this week.
    return when.astimezone(rotation.zone).strftime("%a %d %b %H:%M %Z")


async def _roster(rt: Runtime, rotation: Rotation, now: datetime) -> Roster:
    try:
        return await service.roster_of(rt, rotation, now)
    except ScheduleUnavailable as exc:
        raise CommandError(str(exc)) from None


async def who(inv: Invocation, rt: Runtime) -> Message:
    rotation, _ = _rotation(rt, inv.args)
    now = rt.clock()
    roster = await _roster(rt, rotation, now)
    shift = roster.shift(now)
    if shift is None:
        text = messages.nobody_on_call(rotation.name)
        following = roster.following(now)
    else:
        current = mention(roster.on_call(now))
        # Until the override that put them there ends, when one did; else the shift's end.
        until = roster.on_call_until(now) or shift.end
        text = messages.who_is_on_call(rotation.name, current, _local(until, rotation))
        following = roster.following(shift.end)
    if following is None:
        text += messages.NOBODY_NEXT
    else:
        upcoming = mention(roster.on_call(following.start))
        text += messages.who_is_next(upcoming, _local(following.end, rotation))
    out = [block_kit.section(text)]
    if (note := stale_note(roster)) is not None:
        out.append(block_kit.context(note))
        text += "\n" + note
    return Message(text=text, blocks=out)


async def override(inv: Invocation, rt: Runtime) -> Message:
    rotation, rest = _rotation(rt, inv.args)
    if rotation.from_pagerduty:
        raise CommandError(messages.override_in_pagerduty(rotation.name))
    usage = messages.usage(rt.command_name("oncall"), "override [rotation] @user <4h|ISO time>")
    if len(rest) != 2 or not (target := named_user(rest[0])):
        raise CommandError(usage)
    if inv.user_id not in rotation.members:
        raise CommandError(messages.not_in_rotation(rotation.name))
    now = rt.clock()
    until = _until(rest[1], now)
    if not now < until <= now + timedelta(days=31):
        raise CommandError(messages.BAD_UNTIL)
    by = Actor.slack(inv.user_id, inv.caller.user_name)
    await service.set_override(
        rt, rotation=rotation, user=target, until=until, by=by, reason=inv.reason
    )
    return Message(text=messages.override_set(rotation.name, target, _local(until, rotation)))


async def handoff(inv: Invocation, rt: Runtime) -> Message:
    rotation, _ = _rotation(rt, inv.args)
    now = rt.clock()
    roster = await _roster(rt, rotation, now)
    shift = roster.shift(now)
    if shift is None:
        raise CommandError(messages.nobody_on_call(rotation.name) + ".")
    facts = await service.shift_so_far(rt, start=shift.start, now=now)
    outgoing = roster.on_call(now) or shift.scheduled
    incoming = roster.on_call(shift.end) or messages.NOBODY
    preview = replace(shift, end=now)
    return handoff_message(
        rotation.name, preview, incoming, outgoing, facts, rotation.zone,
        late=False, note=stale_note(roster),
    )  # fmt: skip


def register(registry: CommandRegistry[Runtime]) -> None:
    registry.group("oncall", "who is on call, overrides and handoffs")
    registry.add(
        "oncall",
        "who",
        usage="who [rotation]",
        summary="who is on call now and next",
        verb="oncall.who",
    )(who)
    registry.add(
        "oncall",
        "override",
        usage="override [rotation] @user <4h|2026-12-24T09:00+01:00> [-- reason]",
        summary="put someone else on call until a time (audited)",
        verb="oncall.override",
    )(override)
    registry.add(
        "oncall",
        "handoff",
        usage="handoff [rotation]",
        summary="preview the handoff summary of the shift so far",
        verb="oncall.handoff",
    )(handoff)


def install(parts: AppParts) -> None:
    register(parts.commands)
