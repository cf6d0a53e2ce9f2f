"""Slash command groups: one module per group, each with `install(parts)` that registers
its subcommands and buttons. Adding a group is one module here and one line in `GROUPS`
(docs/architecture.md, "Add a command group")."""

from __future__ import annotations

from bot.parts import AppParts
from commands import (
    audit,
    fleet,
    fleet_actions,
    fleet_automation,
    fleet_campaign,
    help,
    incident,
    oncall,
)

GROUPS = (fleet, fleet_actions, fleet_automation, fleet_campaign, audit, oncall, incident)


def install(parts: AppParts) -> None:
    for group in GROUPS:
        group.install(parts)
    # help last: it lists what the others registered.
    help.register(parts.commands)
