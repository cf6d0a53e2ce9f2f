"""Running a command: parse it, find the handler, run it, and queue its reply.

Every outcome is an answer to the user: a handler's message, a usage hint, a fleet
outage explained, or an internal-error reference; never silence.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from bot import messages, outbox
from bot.db.unit_of_work import writing
from bot.interactions import Click, Shortcut, Submission
from bot.log_context import bound
from bot.outbox import Message
from bot.permissions import step
from bot.permissions.verbs import pick
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


def _ask(
    what: str, verb: str | None, caller: Caller, text: str, surface: str = "channel"
) -> step.Ask:
    return step.Ask(
        what=what,
        verb=verb,
        user_id=caller.user_id,
        user_name=caller.user_name,
        channel_id=caller.channel_id,
        thread_ts=caller.thread_ts,
        text=text,
        surface=surface,
    )


async def answer_for(rt: Runtime, inv: Invocation, text: str = "") -> Message:
    """The handler's answer once the permission step let the invocation through."""
    command = rt.command_name(inv.group)
    entry = rt.commands.find(inv.group, inv.name)
    if entry is None:
        suggestion = rt.commands.suggest(inv.group, inv.name)
        unknown = messages.unknown_subcommand(command, inv.name, suggestion)
        ask = _ask(f"{command} {inv.name}", None, inv.caller, text)
        await step.record(rt, ask, step.Permit(False, unknown))
        return Message(text=unknown)
    scope = entry.scope
    ask = _ask(f"{command} {entry.name}", entry.verb_for(inv), inv.caller, text)
    permit = await step.permit(rt, ask, None if scope is None else lambda: scope(inv, rt))
    if not permit.allowed:
        return Message(text=permit.reason)
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


def _request_id() -> str:
    """A short id for the log lines of one command, mention or click (`bot.log_context`)."""
    return uuid.uuid4().hex[:16]


async def run_command(rt: Runtime, group: str, text: str, caller: Caller) -> None:
    started = time.monotonic()
    with bound(request_id=_request_id()):
        try:
            await _run_command(rt, group, text, caller)
        finally:
            rt.metrics.command_answered(group, time.monotonic() - started)


async def _run_command(rt: Runtime, group: str, text: str, caller: Caller) -> None:
    try:
        inv = parse_invocation(group, text, caller)
    except CommandError as exc:
        what = rt.command_name(group)
        await step.record(rt, _ask(what, None, caller, text), step.Permit(False, str(exc)))
        await reply(rt, caller, Message(text=str(exc)))
        return
    await reply(rt, caller, await answer_for(rt, inv, text))


async def _click_answer(rt: Runtime, click: Click, caller: Caller) -> Message | None:
    button = rt.buttons.find(click.action_id)
    what = f"button {click.action_id}"
    if button is None:
        log.warning("click on unknown action %s", click.action_id)
        refused = step.Permit(False, messages.STALE_BUTTON)
        await step.record(rt, _ask(what, None, caller, click.value or ""), refused)
        return Message(text=messages.STALE_BUTTON)
    scope = button.scope
    ask = _ask(what, button.verb_for(click), caller, click.value or "", click.surface)
    permit = await step.permit(rt, ask, None if scope is None else lambda: scope(click, rt))
    if not permit.allowed:
        return Message(text=permit.reason)
    return await explained(button.handler(click, rt), what)


async def run_click(rt: Runtime, click: Click) -> None:
    with bound(request_id=_request_id()):
        await _run_click(rt, click)


async def _run_click(rt: Runtime, click: Click) -> None:
    caller = Caller(
        user_id=click.user_id,
        user_name=click.user_name,
        channel_id=click.channel_id,
        response_url=click.response_url,
        trigger_id=click.trigger_id,
        thread_ts=click.thread_ts,
    )
    answer = await _click_answer(rt, click, caller)
    if answer is None:
        return
    home = rt.hooks.answer_in_home
    if click.surface == "app_home" and home is not None:
        # A Home button has no channel to answer in: the answer tops the Home tab.
        await home(rt, click.user_id, answer)
        return
    await reply(rt, caller, answer)


async def _permitted(
    rt: Runtime,
    caller: Caller,
    ask: step.Ask,
    find: step.FindScope | None,
    work: Callable[[], Awaitable[Message | None]],
) -> None:
    """The permission step, then `work` if it let the request through; the answer (or
    the refusal) goes to the caller."""
    permit = await step.permit(rt, ask, find)
    answer = await explained(work(), ask.what) if permit.allowed else Message(permit.reason)
    if answer is not None:
        await reply(rt, caller, answer)


def _submission_caller(submission: Submission) -> Caller:
    return Caller(
        user_id=submission.user_id,
        user_name=submission.user_name,
        channel_id=submission.channel_id,
        thread_ts=submission.thread_ts,
    )


async def run_submission(rt: Runtime, submission: Submission) -> None:
    """A modal's submission, once its fields passed the form's check and Slack was
    answered: the permission step (surface "modal"), then the form's handler; the answer
    goes to the submitter where the modal was opened from."""
    with bound(request_id=_request_id()):
        caller = _submission_caller(submission)
        what = f"modal {submission.callback_id}"
        form = rt.buttons.find_form(submission.callback_id)
        if form is None:
            await step.record(rt, _ask(what, None, caller, "", "modal"), step.Permit(False))
            await reply(rt, caller, Message(text=messages.STALE_BUTTON))
            return
        scope = form.scope
        text = " ".join(f"{k}={v}" for k, v in sorted(submission.values.items()))
        ask = _ask(what, form.verb_for(submission), caller, text, "modal")
        find = None if scope is None else lambda: scope(submission, rt)
        await _permitted(rt, caller, ask, find, lambda: form.handler(submission, rt))


async def run_shortcut(rt: Runtime, shortcut: Shortcut) -> None:
    """A message shortcut: the permission step (surface "shortcut"), then its handler."""
    with bound(request_id=_request_id()):
        caller = Caller(
            user_id=shortcut.user_id,
            user_name=shortcut.user_name,
            channel_id=shortcut.channel_id,
            response_url=shortcut.response_url,
            trigger_id=shortcut.trigger_id,
        )
        what = f"shortcut {shortcut.callback_id}"
        entry = rt.buttons.find_shortcut(shortcut.callback_id)
        verb = None if entry is None else pick(entry.verb, None)
        ask = _ask(what, verb, caller, shortcut.message_ts, "shortcut")
        if entry is None:
            await step.record(rt, ask, step.Permit(False, messages.STALE_BUTTON))
            await reply(rt, caller, Message(text=messages.STALE_BUTTON))
            return
        await _permitted(rt, caller, ask, None, lambda: entry.handler(shortcut, rt))
