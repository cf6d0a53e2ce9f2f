"""Running a command: parse it, find the handler, run it, and queue its reply.

Every outcome is an answer to the user: a handler's message, a usage hint, a fleet
outage explained, or an internal-error reference; never silence.
"""

from __future__ import annotations

import logging
import uuid

from bot import messages, outbox
from bot.outbox import Message
from bot.registry import Caller, CommandError, Invocation, split_command_text
from bot.runtime import Runtime
from integrations.fleet.errors import FleetRequestRejected, FleetUnavailable

log = logging.getLogger(__name__)


def parse_invocation(group: str, text: str, caller: Caller) -> Invocation:
    words, reason = split_command_text(text)
    name, args = (words[0].lower(), words[1:]) if words else ("help", [])
    return Invocation(group=group, name=name, args=args, caller=caller, reason=reason)


async def answer_for(rt: Runtime, inv: Invocation) -> Message:
    command = rt.command_name(inv.group)
    entry = rt.registry.find(inv.group, inv.name)
    if entry is None:
        suggestion = rt.registry.suggest(inv.group, inv.name)
        return Message(text=messages.unknown_subcommand(command, inv.name, suggestion))
    try:
        return await entry.handler(inv, rt)
    except CommandError as exc:
        return Message(text=str(exc))
    except FleetUnavailable as exc:
        return Message(text=messages.fleet_unavailable(str(exc)))
    except FleetRequestRejected as exc:
        return Message(text=messages.fleet_rejected(exc.reason))
    except Exception:
        reference = uuid.uuid4().hex[:8]
        log.exception("command %s %s failed (ref %s)", command, inv.name, reference)
        return Message(text=messages.internal_error(reference))


async def reply(rt: Runtime, caller: Caller, message: Message) -> None:
    """Answer where the caller can see it: the command's response_url, else ephemeral."""
    async with rt.sessions() as session, session.begin():
        if caller.response_url:
            outbox.respond(
                session,
                response_url=caller.response_url,
                channel=caller.channel_id,
                user=caller.user_id,
                message=message,
                clock=rt.clock,
            )
        else:
            outbox.ephemeral(
                session,
                channel=caller.channel_id,
                user=caller.user_id,
                message=message,
                clock=rt.clock,
            )
    rt.wake_outbox()


async def run_command(rt: Runtime, group: str, text: str, caller: Caller) -> None:
    try:
        inv = parse_invocation(group, text, caller)
    except CommandError as exc:
        await reply(rt, caller, Message(text=str(exc)))
        return
    await reply(rt, caller, await answer_for(rt, inv))
