"""The guarded flow, as service functions: submit a request, confirm it, advance it.

    submit ─► guards (pre-plan) ─► lock ─► fleet plan ─► guards (post-plan)
       ├─ denied                      → the requester sees why; audit; lock released
       ├─ needs confirmation          → ephemeral preview with Confirm / Cancel
       ├─ needs approval              → approval card in the channel (or incident thread)
       └─ allowed                     → execute (bot.actions.execute)

Every click re-runs the whole chain (the clicker's rights, expiry, the lock, a fresh plan)
before it moves the request on. Functions return the answer for the person who acted.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages as m
from bot.actions import notify, render
from bot.actions.assess import Assessment, assess
from bot.actions.catalog import CATALOG, InvalidRequest, params_hash, validate_params
from bot.actions.chain import ChainResult, Decision, Person, Stage, deny
from bot.actions.execute import execute
from bot.actions.guards import approval_required, approver_roles
from bot.actions.journal import chain_params, record
from bot.actions.models import PENDING, ActionRequest
from bot.actions.port import plan_digest
from bot.actions.store import acquire_lock, get_request, release_lock, transition
from bot.audit import vocabulary as v
from bot.outbox import Message
from bot.runtime import Runtime
from integrations.fleet.models import ParamValue


@dataclass(frozen=True)
class Draft:
    """A request as typed: nothing here is trusted until the chain has run."""

    action: str
    target: str
    params: dict[str, ParamValue]
    requester: Person
    channel_id: str
    idempotency_key: str
    reason: str | None = None
    thread_ts: str | None = None
    break_glass: bool = False


def new_request_id() -> str:
    return uuid.uuid4().hex[:16]


def _typed(draft: Draft) -> dict[str, ParamValue]:
    spec = CATALOG.get(draft.action)
    try:
        return validate_params(spec, draft.params) if spec else dict(draft.params)
    except InvalidRequest:
        return dict(draft.params)  # stored as typed; the validation guard refuses it


async def submit(rt: Runtime, draft: Draft) -> Message:
    now = rt.clock()
    params = _typed(draft)
    spec = CATALOG.get(draft.action)
    row = ActionRequest(
        id=new_request_id(),
        idempotency_key=draft.idempotency_key[:200],
        params_hash=params_hash(draft.action, draft.target, params),
        action=draft.action[:40],
        target=draft.target[:200],
        params=json.dumps(params, sort_keys=True),
        reason=draft.reason,
        requester_id=draft.requester.id,
        requester_name=draft.requester.name[:200],
        channel_id=draft.channel_id,
        thread_ts=draft.thread_ts,
        state="requested",
        risk=spec.risk_for(params) if spec else "high",
        break_glass=draft.break_glass,
        needs_confirmation=False,
        approvals_required=0,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(minutes=rt.config.policies.confirm_minutes),
    )
    try:
        async with rt.sessions() as session, session.begin():
            session.add(row)
    except IntegrityError:
        return await _replayed(rt, row)
    return await advance(rt, row.id, "submit", draft.requester)


async def _replayed(rt: Runtime, fresh: ActionRequest) -> Message:
    """The same idempotency key again: the same request is not made twice."""
    async with rt.sessions() as session:
        known = await session.scalar(
            select(ActionRequest).where(ActionRequest.idempotency_key == fresh.idempotency_key)
        )
    if known is None:  # the first one rolled back meanwhile; nothing to replay
        return Message(text=m.ACTION_TRY_AGAIN)
    if known.params_hash != fresh.params_hash:
        return Message(text=m.ACTION_KEY_REUSED)
    return Message(text=m.action_already(known.id, known.state))


async def advance(rt: Runtime, request_id: str, stage: Stage, actor: Person) -> Message:
    """Run the chain for `request_id` at `stage` and move it to wherever the chain says."""
    async with rt.sessions() as session:
        row = await get_request(session, request_id)
    if row is None:
        return Message(text=m.STALE_BUTTON)
    verdict = await assess(rt, row, stage, actor if stage == "approve" else None)
    outcome = verdict.result.outcome
    if outcome == "denied" or not await _lock(rt, row, verdict):
        return await deny_request(rt, row, verdict, actor, stage)
    if outcome == "needs_confirmation":
        return await _preview(rt, row, verdict)
    if outcome == "needs_approval":
        return await _await_approval(rt, row, verdict, stage, actor)
    async with rt.sessions() as session, session.begin():
        won = await transition(
            session,
            row.id,
            ("requested", "confirmed"),
            "approved",
            rt.clock(),
            **_decided(verdict, row),
        )
        if not won:
            return Message(text=m.action_already(row.id, "approved"))
        await record(
            session,
            rt,
            actor=actor,
            action=v.GUARD_DECIDED,
            row=row,
            outcome=v.ACCEPTED,
            extra=chain_params(stage, verdict.result),
        )
        await _break_glass(session, rt, row, actor, stage)
    return await execute(rt, row.id)


def _decided(verdict: Assessment, row: ActionRequest) -> dict[str, Any]:
    """What the chain settled, stored on the row: the risk, the consents, the plan seen."""
    values: dict[str, Any] = {"risk": verdict.ctx.risk, "rule_index": None}
    matched = verdict.ctx.matched
    if matched is not None:
        values["rule_index"] = matched[0]
    if verdict.preview is not None and row.plan_digest is None:
        values["plan"] = verdict.preview.dump()
        values["plan_digest"] = plan_digest(verdict.preview.plan)
    if row.state == "requested":
        values["approvals_required"] = approval_required(verdict.ctx)
        values["needs_confirmation"] = "confirmation" in verdict.result.needs
    return values


async def _lock(rt: Runtime, row: ActionRequest, verdict: Assessment) -> bool:
    """Take the target's lease; on failure the chain gets the lock guard's denial."""
    ttl = timedelta(minutes=rt.config.policies.lock_ttl_minutes)
    async with rt.sessions() as session, session.begin():
        holder = await acquire_lock(session, verdict.ctx.request, rt.clock(), ttl)
    if holder is None:
        return True
    lost = Decision("lock", deny(m.action_locked(row.target, holder)))
    verdict.result = verdict.result + ChainResult((lost,))
    return False


async def deny_request(
    rt: Runtime, row: ActionRequest, verdict: Assessment, actor: Person, stage: str
) -> Message:
    reason = verdict.result.reason()
    async with rt.sessions() as session, session.begin():
        won = await transition(session, row.id, PENDING, "denied", rt.clock(), detail=reason)
        released = await release_lock(session, row.target, row.id)
        audit = await record(
            session,
            rt,
            actor=actor,
            action=v.GUARD_DECIDED,
            row=row,
            outcome=v.DENIED,
            # `applied` false: the request had already moved on; the denial changed nothing.
            extra=chain_params(stage, verdict.result, lock_released=released, applied=won),
        )
        if won and row.card_posted:
            row.state, row.detail = "denied", reason
            await notify.update_card(
                session, rt, row, render.card(row, m.card_denied(actor.id, reason))
            )
    rt.wake_outbox()
    return Message(text=m.action_denied(row.action, row.target, reason, audit.seq))


async def _preview(rt: Runtime, row: ActionRequest, verdict: Assessment) -> Message:
    async with rt.sessions() as session, session.begin():
        values = _decided(verdict, row)
        if not await transition(session, row.id, ("requested",), "previewed", rt.clock(), **values):
            return Message(text=m.action_already(row.id, "previewed"))
        await record(
            session,
            rt,
            actor=row_requester(row),
            action=v.GUARD_DECIDED,
            row=row,
            outcome=v.NEEDS_CONFIRMATION,
            extra=chain_params("submit", verdict.result),
        )
        await _break_glass(session, rt, row, row_requester(row), "submit")
    rt.wake_outbox()
    for key, value in values.items():
        setattr(row, key, value)
    assert verdict.preview is not None
    note = m.preview_note(row.risk, row.approvals_required, approver_roles(verdict.ctx))
    return render.preview_card(row, verdict.preview, note=note, buttons=True)


async def _await_approval(
    rt: Runtime, row: ActionRequest, verdict: Assessment, stage: str, actor: Person
) -> Message:
    roles = approver_roles(verdict.ctx)
    if stage == "approve":  # recorded, but more approvals are needed
        async with rt.sessions() as session, session.begin():
            status = m.card_waiting(verdict.result.reason(), row.expires_at)
            await notify.update_card(session, rt, row, render.card(row, status, open_=True))
        rt.wake_outbox()
        return Message(text=m.approval_recorded(verdict.result.reason()))
    expires = (
        rt.clock()
        + timedelta(minutes=rt.config.policies.approval_for(verdict.ctx.rule).expires_minutes)
        if verdict.ctx.rule
        else rt.clock()
    )
    async with rt.sessions() as session, session.begin():
        values = {**_decided(verdict, row), "expires_at": expires}
        # The confirm click already moved it to `confirmed`; posting the card is the step.
        if not await transition(
            session,
            row.id,
            ("requested", "previewed", "confirmed"),
            "confirmed",
            rt.clock(),
            where=[~ActionRequest.card_posted],
            card_posted=True,
            **values,
        ):
            return Message(text=m.action_already(row.id, "confirmed"))
        for key, value in values.items():
            setattr(row, key, value)
        await record(
            session,
            rt,
            actor=actor,
            action=v.APPROVAL_REQUESTED,
            row=row,
            outcome=v.NEEDS_APPROVAL,
            extra=chain_params(
                stage,
                verdict.result,
                approver_roles=roles,
                params_hash=row.params_hash,
                expires_at=expires.isoformat(),
            ),
        )
        await _break_glass(session, rt, row, actor, stage)
        status = m.card_waiting(verdict.result.reason(), expires, requester=row.requester_id)
        await notify.post_card(session, rt, row, render.card(row, status, open_=True))
    rt.wake_outbox()
    where = m.where_card(row.channel_id, row.thread_ts)
    if stage == "submit" and verdict.preview is not None:
        note = m.approval_requested_note(roles, where)
        return render.preview_card(row, verdict.preview, note=note, buttons=False)
    return Message(text=m.confirmed_awaiting_approval(roles, where))


def row_requester(row: ActionRequest) -> Person:
    return Person(row.requester_id, row.requester_name)


async def _break_glass(
    session: AsyncSession, rt: Runtime, row: ActionRequest, actor: Person, stage: str
) -> None:
    """Break-glass announces itself in the channel once, when the chain first lets it by."""
    if not row.break_glass or stage != "submit":
        return
    await record(session, rt, actor=actor, action=v.BREAK_GLASS, row=row, outcome=v.ACCEPTED)
    notify.announce(
        session,
        rt,
        row.channel_id,
        Message(
            text=m.break_glass_announcement(row.requester_id, row.action, row.target, row.reason)
        ),
    )
    ops = rt.config.channels.ops
    if ops and ops != row.channel_id:
        notify.announce(
            session,
            rt,
            ops,
            Message(
                text=m.break_glass_announcement(
                    row.requester_id, row.action, row.target, row.reason
                )
            ),
        )


async def confirm(rt: Runtime, request_id: str, clicker: Person) -> Message:
    async with rt.sessions() as session, session.begin():
        row = await get_request(session, request_id)
        if row is None:
            return Message(text=m.STALE_BUTTON)
        if clicker.id != row.requester_id:
            return Message(text=m.ONLY_REQUESTER_CONFIRMS)
        if row.expires_at is not None and rt.clock() >= row.expires_at:
            if await transition(session, row.id, ("previewed",), "expired", rt.clock()):
                await release_lock(session, row.target, row.id)
                await record(
                    session, rt, actor=clicker, action=v.CONFIRMATION, row=row, outcome=v.EXPIRED
                )
            return Message(text=m.action_already(row.id, "expired"))
        if not await transition(session, row.id, ("previewed",), "confirmed", rt.clock()):
            return Message(text=m.action_already(row.id, row.state))
        await record(
            session, rt, actor=clicker, action=v.CONFIRMATION, row=row, outcome=v.CONFIRMED
        )
    return await advance(rt, request_id, "confirm", clicker)


async def cancel_pending(
    rt: Runtime, request_id: str, clicker: Person, *, permitted: bool = False
) -> Message:
    """The requester's Cancel, or `/fleet cancel <request>` (by anyone `permitted`) before
    anything ran."""
    async with rt.sessions() as session, session.begin():
        row = await get_request(session, request_id)
        if row is None:
            return Message(text=m.STALE_BUTTON)
        if clicker.id != row.requester_id and not permitted:
            return Message(text=m.ONLY_REQUESTER_CANCELS)
        if not await transition(
            session, row.id, PENDING, "cancelled", rt.clock(), detail=m.cancelled_by(clicker.id)
        ):
            return Message(text=m.action_already(row.id, row.state))
        released = await release_lock(session, row.target, row.id)
        outcome = v.DECLINED if row.state == "previewed" else v.CANCELLED
        await record(
            session,
            rt,
            actor=clicker,
            action=v.CONFIRMATION if row.state == "previewed" else v.ACTION_CANCELLED,
            row=row,
            outcome=outcome,
            extra={"lock_released": released},
        )
        if row.card_posted:
            row.state = "cancelled"
            await notify.update_card(session, rt, row, render.card(row, m.cancelled_by(clicker.id)))
    rt.wake_outbox()
    return Message(text=m.action_cancelled(row.action, row.target))
