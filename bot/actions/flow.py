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

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages as m
from bot.actions.asking import announce_break_glass, await_approval, decided, preview
from bot.actions.assess import Assessment, assess
from bot.actions.catalog import CATALOG, InvalidRequest, params_hash, validate_params
from bot.actions.execute import execute
from bot.actions.guard_chain import ChainResult, Decision, Person, Stage, deny
from bot.actions.journal import chain_params, record
from bot.actions.lifecycle import FINISHED, PENDING, RequestState
from bot.actions.models import ActionApproval, ActionRequest
from bot.actions.moves import AuditStep, Say, move
from bot.actions.store import acquire_lock, get_request, release_lock
from bot.audit import vocabulary as v
from bot.db.unit_of_work import writing
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
    # One target of a campaign (bot/campaigns): approved beforehand, as a whole, by these
    # people; their approvals are written for this request, bound to its own parameters,
    # and the chain runs as after a confirmation, asking nobody (`may_ask=False`).
    campaign_id: str | None = None
    approved_by: tuple[Person, ...] = ()


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
        state=RequestState.REQUESTED,
        risk=spec.risk_for(params) if spec else "high",
        break_glass=draft.break_glass,
        needs_confirmation=False,
        approvals_required=0,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(minutes=rt.config.policies.confirm_minutes),
        campaign_id=draft.campaign_id,
    )
    try:
        async with writing(rt.sessions) as session:
            session.add(row)
            await session.flush()
            for person in draft.approved_by:
                session.add(
                    ActionApproval(
                        request_id=row.id,
                        approver_id=person.id,
                        approver_name=person.name[:200],
                        decision="approve",
                        params_hash=row.params_hash,
                        at=now,
                    )
                )
    except IntegrityError:
        return await _replayed(rt, row)
    if draft.campaign_id is not None:
        return await advance(rt, row.id, "confirm", draft.requester, may_ask=False)
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


async def advance(
    rt: Runtime, request_id: str, stage: Stage, actor: Person, *, may_ask: bool = True
) -> Message:
    """Run the chain for `request_id` at `stage` and move it to wherever the chain says.

    `may_ask=False` is for a request whose consent was given beforehand, as a whole (a
    campaign's target, its approvals copied from the campaign's): nobody waits at a card
    for it, so a confirmation or approval the chain still wants refuses it instead."""
    async with rt.sessions() as session:
        row = await get_request(session, request_id)
    if row is None:
        return Message(text=m.STALE_BUTTON)
    verdict = await assess(rt, row, stage, actor if stage == "approve" else None)
    outcome = verdict.result.outcome
    if not may_ask and outcome in ("needs_confirmation", "needs_approval"):
        unmet = Decision("consent", deny(m.consent_not_covered(verdict.result.reason())))
        verdict.result = verdict.result + ChainResult((unmet,))
        outcome = "denied"
    if outcome == "denied" or not await _lock(rt, row, verdict):
        return await deny_request(rt, row, verdict, actor, stage)
    if outcome == "needs_confirmation":
        return await preview(rt, row, verdict)
    if outcome == "needs_approval":
        return await await_approval(rt, row, verdict, stage, actor)
    async with writing(rt.sessions) as session:
        if not await move(
            session,
            rt,
            row,
            to=RequestState.APPROVED,
            expect=(RequestState.REQUESTED, RequestState.CONFIRMED),
            facts=decided(verdict, row),
            audit=AuditStep(
                actor, v.GUARD_DECIDED, v.ACCEPTED, extra=chain_params(stage, verdict.result)
            ),
        ):
            return Message(text=m.action_already(row.id, RequestState.APPROVED))
        await announce_break_glass(session, rt, row, actor, stage)
    return await execute(rt, row.id)


async def _release_if_finished(session: AsyncSession, row: ActionRequest) -> bool:
    state = await session.scalar(select(ActionRequest.state).where(ActionRequest.id == row.id))
    if state not in FINISHED:
        return False
    return await release_lock(session, row.target, row.id)


async def _lock(rt: Runtime, row: ActionRequest, verdict: Assessment) -> bool:
    """Take the target's lease; on failure the chain gets the lock guard's denial."""
    ttl = timedelta(minutes=rt.config.policies.lock_ttl_minutes)
    async with writing(rt.sessions) as session:
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
    denial = verdict.result.denial
    rt.metrics.guard_denied(denial.guard if denial is not None else "unknown")
    async with writing(rt.sessions) as session:
        moved = await move(
            session,
            rt,
            row,
            to=RequestState.DENIED,
            expect=PENDING,
            facts={"detail": reason},
            say=Say(card=m.card_denied(actor.id, reason)) if row.card_posted else None,
        )
        # The denial is audited even when the request had already moved on (`applied`
        # false: the denial changed nothing). A lost move releases the lease only when the
        # request is finished (this assessment may have taken it again after a sweep); an
        # approved or running request keeps the lease its winner holds.
        released = moved.lock_released if moved else await _release_if_finished(session, row)
        audit = await record(
            session,
            rt,
            actor=actor,
            action=v.GUARD_DECIDED,
            row=row,
            outcome=v.DENIED,
            extra=chain_params(stage, verdict.result, lock_released=released, applied=moved.won),
        )
    rt.wake_outbox()
    return Message(text=m.action_denied(row.action, row.target, reason, audit.seq))
