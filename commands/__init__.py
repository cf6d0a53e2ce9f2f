"""Slash command groups. `register_all` puts every group into one registry."""

from __future__ import annotations

from bot.registry import CommandRegistry
from commands import audit, fleet, fleet_actions, fleet_automation, help, incident, oncall


def register_all(registry: CommandRegistry) -> CommandRegistry:
    fleet.register(registry)
    fleet_actions.register(registry)
    fleet_automation.register(registry)
    audit.register(registry)
    oncall.register(registry)
    incident.register(registry)
    # help last: it lists what the others registered.
    help.register(registry)
    return registry
