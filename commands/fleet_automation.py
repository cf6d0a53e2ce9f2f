"""`/fleet automation [status|pause|resume] [-- reason]`: the kill switch of automation."""

from __future__ import annotations

from bot import messages as m
from bot.automation import switch
from bot.outbox import Message
from bot.parts import AppParts
from bot.permissions.verbs import VerbChoice
from bot.registry import CommandError, CommandRegistry, Invocation
from bot.runtime import Runtime

USAGE = "automation [status|pause|resume] [-- reason]"


async def automation(inv: Invocation, rt: Runtime) -> Message:
    word = inv.args[0] if inv.args else "status"
    if len(inv.args) > 1 or word not in ("status", "pause", "resume"):
        raise CommandError(m.usage(rt.command_name("fleet"), USAGE))
    if word == "status":
        return await switch.status(rt)
    text = await switch.switch(
        rt, paused=word == "pause", user=inv.user_id, name=inv.caller.user_name, reason=inv.reason
    )
    return Message(text=text)


def register(registry: CommandRegistry[Runtime]) -> None:
    registry.add(
        "fleet",
        "automation",
        usage=USAGE,
        summary="automation's state; pause or resume every runbook at once (audited)",
        verb=VerbChoice(
            {
                "status": "automation.status",
                "pause": "automation.pause",
                "resume": "automation.resume",
            },
            default="automation.status",
        ),
    )(automation)


def install(parts: AppParts) -> None:
    register(parts.commands)
