"""Approve and Deny on the approval card: who may click, what a click records, and when
the request moves on.

An approval is a row bound to the parameters hash the approver saw; the approval guard
counts only rows whose hash matches the request now, from people other than the
requester, who hold an approver role, before the deadline. One person, one decision
(UNIQUE): a second click changes nothing. One deny vetoes: the request is `denied`, and
the execution claim itself refuses a request with a deny row, so a deny that lands while
the last approval is being processed still wins or is told it came too late.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from bot import messages as m
from bot.actions.flow import advance
from bot.actions.guard_chain import ChainResult, GuardContext, Person, evaluate
from bot.actions.guards import Approver
from bot.actions.journal import audit_ready, chain_params, record, record_alone
from bot.actions.lifecycle import RequestState
from bot.actions.models import ActionApproval, ActionRequest
from bot.actions.moves import AuditStep, Say, expired_say, move
from bot.actions.store import get_request, load_facts, view_of
from bot.audit import vocabulary as v
from bot.db.unit_of_work import writing
from bot.outbox import Message
from bot.permissions.roles import known_people
from bot.permissions.usergroups import role_book
from bot.runtime import Runtime


async def _clicker_check(rt: Runtime, row: ActionRequest, clicker: Person) -> ChainResult:
    """The Approver guard alone: who clicked may decide (before anything is recorded)."""
    view = view_of(row)
    async with rt.sessions() as session:
        facts = await load_facts(
            session, view, rt.config.policies, rt.clock(), audit_ready=audit_ready(rt)
        )
    ctx = GuardContext("approve", view, rt.config.policies, role_book(rt), facts, clicker)
    return evaluate((Approver(),), ctx)


async def may_decide(rt: Runtime, row: ActionRequest, person: Person) -> bool:
    """Whether `person` may approve or deny `row` now (the App Home asks, records nothing)."""
    return (await _clicker_check(rt, row, person)).outcome != "denied"


async def _refuse(rt: Runtime, row: ActionRequest, clicker: Person, result: ChainResult) -> Message:
    reason = result.reason()
    rt.metrics.guard_denied(result.denial.guard if result.denial is not None else "unknown")
    await record_alone(
        rt,
        actor=clicker,
        action=v.GUARD_DECIDED,
        row=row,
        outcome=v.DENIED,
        extra=chain_params("approve", result),
    )
    return Message(text=m.decision_refused(reason))


async def _expire(rt: Runtime, row: ActionRequest, clicker: Person) -> Message:
    async with writing(rt.sessions) as session:
        await move(
            session,
            rt,
            row,
            to=RequestState.EXPIRED,
            expect=(RequestState.CONFIRMED,),
            facts={"detail": m.ACTION_APPROVAL_EXPIRED},
            audit=AuditStep(clicker, v.APPROVAL_DECIDED, v.EXPIRED),
            say=expired_say(row, m.ACTION_APPROVAL_EXPIRED),
        )
    rt.wake_outbox()
    return Message(text=m.decision_refused(m.ACTION_APPROVAL_EXPIRED))


async def _open_request(rt: Runtime, request_id: str, clicker: Person) -> ActionRequest | Message:
    async with rt.sessions() as session:
        row = await get_request(session, request_id)
    if row is None:
        return Message(text=m.STALE_BUTTON)
    if row.state != RequestState.CONFIRMED:
        return Message(text=m.action_already(row.id, row.state))
    refusal = await _clicker_check(rt, row, clicker)
    if refusal.denial is not None:
        return await _refuse(rt, row, clicker, refusal)
    if row.expires_at is not None and rt.clock() >= row.expires_at:
        return await _expire(rt, row, clicker)
    return row


async def _record_decision(rt: Runtime, row: ActionRequest, clicker: Person, decision: str) -> bool:
    """The decision row and its audit row, together; False when this person already decided."""
    try:
        async with writing(rt.sessions) as session:
            session.add(
                ActionApproval(
                    request_id=row.id,
                    approver_id=clicker.id,
                    approver_name=clicker.name,
                    decision=decision,
                    params_hash=row.params_hash,
                    at=rt.clock(),
                )
            )
            await session.flush()
            await record(
                session,
                rt,
                actor=clicker,
                action=v.APPROVAL_DECIDED,
                row=row,
                outcome=v.APPROVED if decision == "approve" else v.REJECTED,
                extra={"params_hash": row.params_hash, "requester": row.requester_id},
            )
    except IntegrityError:
        return False
    return True


async def approve(rt: Runtime, request_id: str, clicker: Person) -> Message:
    opened = await _open_request(rt, request_id, clicker)
    if isinstance(opened, Message):
        return opened
    if not await _record_decision(rt, opened, clicker, "approve"):
        return Message(text=m.ALREADY_DECIDED)
    # The whole chain again, as the approver: fresh plan, lock, freeze, the approvals.
    answer = await advance(rt, request_id, "approve", clicker)
    # Approvals wait on the App Home of everyone who may decide: it is gone from theirs.
    # The clicker's own Home is published with the answer when the click came from there
    # (bot/home), and again whenever they open it.
    rt.homes_changed(known_people(rt.config) - {clicker.id})
    return answer


async def deny(rt: Runtime, request_id: str, clicker: Person) -> Message:
    opened = await _open_request(rt, request_id, clicker)
    if isinstance(opened, Message):
        return opened
    row = opened
    if not await _record_decision(rt, row, clicker, "deny"):
        return Message(text=m.ALREADY_DECIDED)
    reason = m.action_vetoed(clicker.id)
    async with writing(rt.sessions) as session:
        denied = await move(
            session,
            rt,
            row,
            to=RequestState.DENIED,
            expect=(RequestState.CONFIRMED, RequestState.APPROVED),
            facts={"detail": reason},
            say=Say(card=m.card_denied(clicker.id, reason)),
        )
    rt.wake_outbox()
    rt.homes_changed(known_people(rt.config) - {clicker.id})
    if not denied:
        async with rt.sessions() as session:
            late = await get_request(session, row.id)
        state, op = (late.state, late.operation_id) if late else ("gone", None)
        return Message(text=m.deny_too_late(state, op))
    return Message(text=m.you_denied(row.action, row.target))
