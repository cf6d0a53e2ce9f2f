"""The modal of a guarded action whose parameters are picked, not typed: a switchover's
candidate from the fleet's healthy replicas, a restart's member, a maintenance time, a
reason and break-glass (docs/actions.md, "Modals").

Submitting it makes the same `Draft` the slash command makes and goes through the same
flow: the permission step (verb `fleet.<action>`, surface "modal"), the guard chain, the
preview, approval. The form checks only what it can without the database, so Slack gets
field errors within its 3 s.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bot import messages as m
from bot.actions import flow
from bot.actions.catalog import (
    CATALOG,
    MODES,
    ActionSpec,
    InvalidRequest,
    ParamSpec,
    check_target,
    typed_param,
)
from bot.actions.guard_chain import Person
from bot.block_kit import Block, context, section
from bot.interactions import Submission
from bot.modals import checkboxes, modal, option, select, text_input
from bot.outbox import Message
from bot.permissions.verbs import VerbChoice
from bot.runtime import Runtime
from integrations.fleet.errors import FleetRequestRejected, FleetUnavailable
from integrations.fleet.models import Member, ParamValue, Service

FORM_ID = "fleet-action"
REASON = "reason"
GLASS = "break-glass"
# The modal must open within Slack's 3 s trigger; the fleet's answer gets this much of it.
FLEET_READ_SECONDS = 1.0
# Same verbs as the slash commands: the modal does what `/fleet <action>` does.
VERBS = VerbChoice({name: f"fleet.{name}" for name, s in CATALOG.items() if s.fleet_action})


def needs_form(action: str, params: dict[str, str]) -> bool:
    """An action with parameters not given yet is picked in a modal rather than run."""
    spec = CATALOG.get(action)
    if spec is None or spec.fleet_action is None:
        return False
    return any(p.name not in params for p in spec.params)


async def _service(rt: Runtime, target: str) -> Service | None:
    try:
        return await asyncio.wait_for(rt.fleet.get_service(target), FLEET_READ_SECONDS)
    except (TimeoutError, FleetUnavailable, FleetRequestRejected, LookupError):
        return None


def _members(service: Service, param: ParamSpec) -> list[Member]:
    if param.name == "candidate":  # only a healthy replica can take over
        return [x for x in service.members if x.role == "replica" and x.healthy]
    return list(service.members)


def _field(param: ParamSpec, given: str | None, service: Service | None, spec: ActionSpec) -> Block:
    if param.kind == "mode":
        return select(
            param.name,
            m.FORM_MODE_LABEL,
            [option(word, word) for word in MODES],
            initial=given or MODES[0],
        )
    if param.kind == "datetime":
        return text_input(
            param.name, m.FORM_AT_LABEL, initial=given, hint=m.FORM_AT_HINT, optional=True
        )
    if param.kind != "member":  # a topic, a group, a config key, ...: typed, checked on submit
        label = f"{param.name}: {param.help}" if param.help else param.name
        return text_input(param.name, label, initial=given, optional=not param.required)
    label = m.FORM_CANDIDATE_LABEL if param.name == "candidate" else m.FORM_MEMBER_LABEL
    if service is None:
        return text_input(
            param.name, label, initial=given, hint=m.FORM_FLEET_UNREAD, optional=not param.required
        )
    members = _members(service, param)
    if not members:
        return context(m.FORM_NO_CANDIDATE)
    options = [option(f"{x.name} ({x.role}, {x.state})", x.name) for x in members]
    hint = None if param.required else m.FORM_ANY_MEMBER
    return select(param.name, label, options, initial=given, hint=hint, optional=not param.required)


async def action_view(
    rt: Runtime,
    *,
    action: str,
    target: str,
    given: dict[str, str],
    origin: dict[str, Any],
) -> dict[str, Any]:
    """The modal for `action` on `target`, with what the button already knew filled in."""
    spec = CATALOG[action]
    service = await _service(rt, target)
    blocks: list[Block] = [section(m.action_form_intro(action, target, spec.summary))]
    blocks += [_field(p, given.get(p.name), service, spec) for p in spec.params]
    blocks.append(text_input(REASON, m.FORM_REASON_LABEL, optional=True, multiline=True))
    blocks.append(checkboxes(GLASS, "Break glass", [option(m.FORM_BREAK_GLASS, GLASS)]))
    sealed = {**origin, "word": action, "action": action, "target": target}
    return modal(
        rt,
        callback_id=FORM_ID,
        title=m.action_form_title(action),
        submit="Preview",
        blocks=blocks,
        origin=sealed,
    )


def _spec(submission: Submission) -> ActionSpec | None:
    spec = CATALOG.get(str(submission.origin.get("action") or ""))
    return spec if spec is not None and spec.fleet_action is not None else None


def _params(spec: ActionSpec, submission: Submission) -> dict[str, ParamValue]:
    return {p.name: submission.text(p.name) for p in spec.params if submission.text(p.name)}


def check(submission: Submission, rt: Runtime) -> dict[str, str]:
    """Field errors: each parameter as the catalog types it, a schedule's time, and a
    reason when breaking glass."""
    spec = _spec(submission)
    if spec is None:
        return {REASON: m.STALE_FORM}
    errors: dict[str, str] = {}
    params = _params(spec, submission)
    for param in spec.params:
        if param.name in params:
            try:
                typed_param(param, params[param.name])
            except InvalidRequest as exc:
                errors[param.name] = str(exc)
        elif param.required and param.kind != "mode":
            errors[param.name] = f"{param.name}: required"
    scheduled = params.get("mode") == "schedule"
    if spec.mode_word and "at" not in errors and scheduled != ("at" in params):
        errors["at"] = "`schedule` needs a time; `run` takes none"
    if GLASS in submission.picked(GLASS) and not submission.text(REASON):
        errors[REASON] = m.BREAK_GLASS_FORM_REASON
    return errors


async def submit(submission: Submission, rt: Runtime) -> Message:
    spec = _spec(submission)
    if spec is None:
        return Message(text=m.STALE_FORM)
    try:
        target = check_target(str(submission.origin.get("target") or ""))
    except InvalidRequest as exc:
        return Message(text=str(exc))
    draft = flow.Draft(
        action=spec.name,
        target=target,
        params=_params(spec, submission),
        requester=Person(submission.user_id, submission.user_name),
        channel_id=submission.channel_id,
        # One modal, one request: Slack's retries of the submission carry the same view.
        idempotency_key=f"view:{submission.view_id}",
        reason=submission.text(REASON) or None,
        thread_ts=submission.thread_ts,
        break_glass=GLASS in submission.picked(GLASS),
    )
    return await flow.submit(rt, draft)
