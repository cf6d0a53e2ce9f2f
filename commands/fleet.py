"""`/fleet`: the fleet's state now; repair actions join in their own module."""

from __future__ import annotations

import difflib

from bot import block_kit, messages
from bot.outbox import Message
from bot.parts import AppParts
from bot.registry import CommandError, CommandRegistry, Invocation
from bot.runtime import Runtime
from integrations.fleet.errors import ServiceNotFound


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


def register(registry: CommandRegistry[Runtime]) -> None:
    registry.group("fleet", "look after the fleet's data services")
    registry.add(
        "fleet",
        "status",
        usage="status [service]",
        summary="a service's members, roles, health and lag; with no service, the fleet overview",
        verb="fleet.status",
    )(status)


def install(parts: AppParts) -> None:
    register(parts.commands)
