"""Slash command groups. `register_all` puts every group into one registry."""

from __future__ import annotations

from bot.registry import CommandRegistry
from commands import fleet, help


def register_all(registry: CommandRegistry) -> CommandRegistry:
    fleet.register(registry)
    # help last: it lists what the others registered.
    help.register(registry)
    return registry
