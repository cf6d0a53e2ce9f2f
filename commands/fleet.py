"""`/fleet`: the fleet's state now; repair actions join in their own module."""

from __future__ import annotations

import difflib

from bot import block_kit, messages
from bot.fleet import find as fleet_find
from bot.mentions import mention_user
from bot.outbox import Message
from bot.parts import AppParts
from bot.registry import CommandError, CommandRegistry, Invocation
from bot.runtime import Runtime
from integrations.fleet.errors import ServiceNotFound
from integrations.fleet.selector import SelectorError, parse_selector


async def _suggest_service(rt: Runtime, name: str) -> str | None:
    try:
        names = [s.name for s in await rt.fleet.list_services()]
    except Exception:  # a suggestion is a nicety; the not-found answer stands without it
        return None
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return close[0] if close else None


async def status(inv: Invocation, rt: Runtime) -> Message:
    if len(inv.args) > 1:
        raise CommandError(messages.usage(rt.command_name("fleet"), "status [service]"))
    if not inv.args:
        views = await rt.fleet.overview()
        if not any(v.services for v in views) and all(v.services is not None for v in views):
            return Message(text=messages.EMPTY_FLEET)
        return Message(text=block_kit.overview_text(views), blocks=block_kit.fleet_overview(views))
    name = inv.args[0]
    try:
        service = await rt.fleet.get_service(name)
    except ServiceNotFound:
        raise CommandError(
            messages.unknown_service(name, await _suggest_service(rt, name))
        ) from None
    return Message(text=block_kit.status_text(service), blocks=block_kit.status_card(service))


async def find(inv: Invocation, rt: Runtime) -> Message:
    command = rt.command_name("fleet")
    if not inv.args:
        raise CommandError(messages.usage(command, messages.FIND_USAGE))
    try:
        selector = parse_selector(" ".join(inv.args))
        found = await fleet_find.find(rt, selector)
    except SelectorError as exc:
        raise CommandError(messages.bad_selector(command, exc)) from None
    if not found.count:
        return Message(text=messages.nothing_found(str(selector)))
    text = messages.find_answer(
        str(selector), found.count, found.by, found.first, mention_user(inv.user_id)
    )
    await fleet_find.publish(
        rt,
        channel=inv.channel_id,
        answer=Message(text=text, blocks=[block_kit.section(text)]),
        csv_text=found.csv_text,
        title=messages.find_csv_title(found.count),
        filename="fleet-find.csv",
    )
    return Message(text=messages.find_posted(found.count))


def register(registry: CommandRegistry[Runtime]) -> None:
    registry.group("fleet", "look after the fleet's data services")
    registry.add(
        "fleet",
        "status",
        usage="status [service]",
        summary="a service's members, roles, health and lag; with no service, the fleet overview",
        verb="fleet.status",
    )(status)
    registry.add(
        "fleet",
        "find",
        usage="find <selector>",
        summary="the services a selector names (engine= region= version<16.4 health= plan= "
        "tag:team= incident= name~pg-*): count, breakdown, and the whole list as CSV",
        verb="fleet.find",
    )(find)


def install(parts: AppParts) -> None:
    register(parts.commands)
