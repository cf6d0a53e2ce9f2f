"""Running a command: parse it, find the handler, run it, and queue its reply.

Every outcome is an answer to the user: a handler's message, a usage hint, a fleet
outage explained, or an internal-error reference; never silence.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable

from bot import messages, outbox
from bot.db.unit_of_work import writing
from bot.interactions import Click
from bot.outbox import Message
from bot.registry import Caller, CommandError, Invocation, split_command_text
from bot.runtime import Runtime
from integrations.fleet.errors import FleetRequestRejected, FleetUnavailable

log = logging.getLogger(__name__)


def parse_invocation(group: str, text: str, caller: Caller) -> Invocation:
    words, reason = split_command_text(text)
    name, args = (words[0].lower(), words[1:]) if words else ("help", [])
    return Invocation(group=group, name=name, args=args, caller=caller, reason=reason)


async def explained(work: Awaitable[Message | None], what: str) -> Message | None:
    """Run a handler; every failure becomes an answer the user can act on."""
    try:
        return await work
    except CommandError as exc:
        return Message(text=str(exc))
    except FleetUnavailable as exc:
        return Message(text=messages.fleet_unavailable(str(exc)))
    except FleetRequestRejected as exc:
        return Message(text=messages.fleet_rejected(exc.reason))
    except Exception:
        reference = uuid.uuid4().hex[:8]
        log.exception("%s failed (ref %s)", what, reference)
        return Message(text=messages.internal_error(reference))


async def answer_for(rt: Runtime, inv: Invocation) -> Message:
    command = rt.command_name(inv.group)
    entry = rt.commands.find(inv.group, inv.name)
    if entry is None:
        suggestion = rt.commands.suggest(inv.group, inv.name)
        return Message(text=messages.unknown_subcommand(command, inv.name, suggestion))
    answer = await explained(entry.handler(inv, rt), f"command {command} {inv.name}")
    assert answer is not None  # command handlers always answer
    return answer


async def reply(rt: Runtime, caller: Caller, message: Message) -> None:
    """Answer where the caller can see it: the command's response_url, else ephemeral."""
    async with writing(rt.sessions) as session:
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
                thread_ts=caller.thread_ts,
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


async def run_click(rt: Runtime, click: Click) -> None:
    handler = rt.buttons.find(click.action_id)
    if handler is None:
        log.warning("click on unknown action %s", click.action_id)
        answer: Message | None = Message(text=messages.STALE_BUTTON)
    else:
        answer = await explained(handler(click, rt), f"button {click.action_id}")
    if answer is not None:
        caller = Caller(
            user_id=click.user_id,
            user_name=click.user_name,
            channel_id=click.channel_id,
            response_url=click.response_url,
            trigger_id=click.trigger_id,
            thread_ts=click.thread_ts,
        )
        await reply(rt, caller, answer)
