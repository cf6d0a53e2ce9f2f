"""`help` for every command group, generated from the registry."""

from __future__ import annotations

from bot import block_kit, messages
from bot.outbox import Message
from bot.registry import CommandRegistry, Invocation
from bot.runtime import Runtime


def help_message(registry: CommandRegistry[Runtime], group: str, command: str) -> Message:
    lines = [
        f"`{command} {entry.usage}` — {entry.summary}" for entry in registry.subcommands(group)
    ]
    return Message(
        text=f"{command}: {registry.summary(group)}",
        blocks=[
            block_kit.header(f"{command} — {registry.summary(group)}"),
            block_kit.section("\n".join(lines)),
            block_kit.context(messages.HELP_FOOTER),
        ],
    )


def register(registry: CommandRegistry[Runtime]) -> None:
    for group in registry.groups():

        async def show_help(inv: Invocation, rt: Runtime) -> Message:
            return help_message(rt.commands, inv.group, rt.command_name(inv.group))

        registry.add(group, "help", usage="help", summary="this list", verb="help.show")(show_help)
