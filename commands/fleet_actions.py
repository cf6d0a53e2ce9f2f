"""`/fleet <action> <service> [key=value ...] [--break-glass] [-- reason]`, the lists
`/fleet ops` and `/fleet locks`, `/fleet cancel`, and the buttons of the action cards.

Parsing only: what is allowed, and what runs, is decided in `bot.actions`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from bot import messages as m
from bot.actions import (
    action_blocks,
    action_form,
    approval_decision,
    confirm,
    flow,
    notify,
    queries,
    review,
    rollback,
)
from bot.actions.cancel import cancel
from bot.actions.catalog import CATALOG, MODES, ActionSpec
from bot.actions.guard_chain import Person
from bot.interactions import Click, InteractionRegistry
from bot.outbox import Message
from bot.parts import AppParts
from bot.registry import CommandError, CommandRegistry, Handler, Invocation
from bot.runtime import Runtime
from integrations.fleet.models import ParamValue

BREAK_GLASS_FLAG = "--break-glass"
OPS_SHOWN = 15


def idempotency_key(inv: Invocation) -> str:
    """Slack's trigger_id is unique per invocation and the same across its retries."""
    if inv.caller.trigger_id:
        return f"slack:{inv.caller.trigger_id}"
    return f"bot:{uuid.uuid4().hex}"


def parse_action(
    spec: ActionSpec, words: list[str], command: str
) -> tuple[str, dict[str, ParamValue]]:
    """(target, params) from `[mode] <service> key=value ...`."""
    params: dict[str, ParamValue] = {}
    if spec.mode_word:
        if not words or words[0] not in MODES:
            raise CommandError(m.usage(command, spec.usage()))
        params["mode"] = words.pop(0)
    positional = [w for w in words if "=" not in w]
    if len(positional) != 1:
        raise CommandError(m.usage(command, spec.usage()))
    for word in words:
        if "=" in word:
            key, _, value = word.partition("=")
            if not key or key in params:
                raise CommandError(m.usage(command, spec.usage()))
            params[key] = value
    return positional[0], params


def draft_of(
    inv: Invocation, spec: ActionSpec, words: list[str], *, glass: bool, command: str
) -> flow.Draft:
    target, params = parse_action(spec, words, command)
    return flow.Draft(
        action=spec.name,
        target=target,
        params=params,
        requester=Person(inv.user_id, inv.caller.user_name),
        channel_id=inv.channel_id,
        idempotency_key=idempotency_key(inv),
        reason=inv.reason,
        thread_ts=inv.caller.thread_ts,
        break_glass=glass,
    )


def action_handler(spec: ActionSpec) -> Handler[Runtime]:
    async def run(inv: Invocation, rt: Runtime) -> Message:
        words = [w for w in inv.args if w != BREAK_GLASS_FLAG]
        glass = len(words) != len(inv.args)
        command = f"{rt.command_name('fleet')}"
        return await flow.submit(rt, draft_of(inv, spec, words, glass=glass, command=command))

    return run


async def break_glass(inv: Invocation, rt: Runtime) -> Message:
    command = rt.command_name("fleet")
    spec = CATALOG.get(inv.args[0]) if inv.args else None
    if spec is None or spec.fleet_action is None:
        raise CommandError(m.usage(command, BREAK_GLASS_USAGE))
    if not (inv.reason or "").strip():
        raise CommandError(m.BREAK_GLASS_NEEDS_REASON)
    words = [w for w in inv.args[1:] if w != BREAK_GLASS_FLAG]
    return await flow.submit(rt, draft_of(inv, spec, words, glass=True, command=command))


async def cancel_command(inv: Invocation, rt: Runtime) -> Message:
    if len(inv.args) != 1:
        raise CommandError(m.usage(rt.command_name("fleet"), "cancel <request-or-operation>"))
    return await cancel(rt, inv.args[0], Person(inv.user_id, inv.caller.user_name))


async def ops(inv: Invocation, rt: Runtime) -> Message:
    if len(inv.args) > 1:
        raise CommandError(m.usage(rt.command_name("fleet"), "ops [service]"))
    target = inv.args[0] if inv.args else None
    rows = await queries.recent_requests(rt, limit=OPS_SHOWN, target=target)
    fleet_ops = await queries.fleet_operations(rt, target=target, limit=OPS_SHOWN) if target else []
    return action_blocks.ops_list(rows, fleet_ops, target)


async def locks(inv: Invocation, rt: Runtime) -> Message:
    return action_blocks.locks_list(await queries.held_locks(rt))


def action_verb(action: str) -> str:
    """`/fleet restart` is the verb `fleet.restart`."""
    return f"fleet.{action}"


BREAK_GLASS_USAGE = "break-glass <action> <service> [key=value ...] -- reason"


def register(registry: CommandRegistry[Runtime]) -> None:
    for spec in CATALOG.values():
        if spec.fleet_action is not None:
            registry.add(
                "fleet",
                spec.name,
                usage=spec.usage(),
                summary=spec.summary,
                verb=action_verb(spec.name),
            )(action_handler(spec))
    registry.add(
        "fleet",
        "cancel",
        usage="cancel <request-or-operation>",
        summary=CATALOG["cancel"].summary,
        verb=action_verb("cancel"),
    )(cancel_command)
    registry.add(
        "fleet",
        "break-glass",
        usage=BREAK_GLASS_USAGE,
        summary="run an action without freeze or approval; needs a reason, announced",
        verb="fleet.break-glass",
    )(break_glass)
    registry.add(
        "fleet",
        "ops",
        usage="ops [service]",
        summary="recent actions and their operations, for one service or all",
        verb="fleet.ops",
    )(ops)
    registry.add(
        "fleet",
        "locks",
        usage="locks",
        summary="which services are locked by an action, by whom, since when",
        verb="fleet.locks",
    )(locks)


ClickRun = Callable[[Runtime, str, Person], Awaitable[Message]]


def _button(
    run: ClickRun, *, replace: bool
) -> Callable[[Click, Runtime], Awaitable[Message | None]]:
    async def on_click(click: Click, rt: Runtime) -> Message | None:
        request_id = click.value or click.action_id.partition(":")[2]
        answer = await run(rt, request_id, Person(click.user_id, click.user_name))
        if replace and click.response_url:
            await notify.replace_preview(
                rt,
                response_url=click.response_url,
                channel=click.channel_id,
                user=click.user_id,
                message=answer,
            )
            return None
        return answer

    return on_click


async def rollback_click(click: Click, rt: Runtime) -> Message:
    """The rollback offer's button: a new request for the reverse, by the clicker."""
    request_id = click.value or click.action_id.rpartition(":")[2]
    actor = Person(click.user_id, click.user_name)
    return await rollback.start(
        rt, request_id, click.word, actor, rollback.click_key(click.trigger_id)
    )


def register_buttons(interactions: InteractionRegistry[Runtime]) -> None:
    # The guard chain still decides who may confirm (the requester) and approve (the
    # approval's roles); these verbs are the gate before it.
    buttons = action_blocks.BUTTONS
    interactions.on(buttons["confirm"], verb="fleet.confirm")(
        _button(confirm.confirm, replace=True)
    )
    interactions.on(buttons["cancel"], verb="fleet.confirm")(
        _button(confirm.cancel_pending, replace=True)
    )
    interactions.on(buttons["approve"], verb="fleet.decide")(
        _button(approval_decision.approve, replace=False)
    )
    interactions.on(buttons["deny"], verb="fleet.decide")(
        _button(approval_decision.deny, replace=False)
    )
    # Its verb is the reverse action's own: the permission step asks what typing it would.
    interactions.on(rollback.BUTTON, verb=rollback.VERB)(rollback_click)
    # Reviewing a break-glass action: anyone this verb allows, except who ran it.
    interactions.on(review.REVIEW_BUTTON, verb="fleet.review")(
        _button(review.review, replace=False)
    )
    # The modal of an action picked rather than typed: judged as the slash command is.
    interactions.form(action_form.FORM_ID, verb=action_form.VERBS, check=action_form.check)(
        action_form.submit
    )


def install(parts: AppParts) -> None:
    register(parts.commands)
    register_buttons(parts.buttons)
