"""Asking people: the preview the requester confirms, the approval card others decide on,
and the break-glass announcement; each writes what the chain settled onto the request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages as m
from bot.actions import action_blocks, notify
from bot.actions.approvers import approvers_for, ask_directly
from bot.actions.assess import Assessment
from bot.actions.guard_chain import Person
from bot.actions.guards import approval_required, approver_roles
from bot.actions.journal import chain_params, record
from bot.actions.lifecycle import RequestState
from bot.actions.models import ActionRequest
from bot.actions.moves import AuditStep, move
from bot.actions.port import plan_digest
from bot.audit import vocabulary as v
from bot.db.unit_of_work import writing
from bot.outbox import Message
from bot.permissions.roles import known_people
from bot.runtime import Runtime


def decided(verdict: Assessment, row: ActionRequest) -> dict[str, Any]:
    """What the chain settled, stored on the row: the risk, the consents, the plan seen."""
    values: dict[str, Any] = {"risk": verdict.ctx.risk, "rule_index": None}
    matched = verdict.ctx.matched
    if matched is not None:
        values["rule_index"] = matched[0]
    if verdict.preview is not None and row.plan_digest is None:
        values["plan"] = verdict.preview.dump()
        values["plan_digest"] = plan_digest(verdict.preview.plan)
    if row.state == RequestState.REQUESTED:
        values["approvals_required"] = approval_required(verdict.ctx)
        values["needs_confirmation"] = "confirmation" in verdict.result.needs
    return values


async def preview(rt: Runtime, row: ActionRequest, verdict: Assessment) -> Message:
    async with writing(rt.sessions) as session:
        if not await move(
            session,
            rt,
            row,
            to=RequestState.PREVIEWED,
            expect=(RequestState.REQUESTED,),
            facts=decided(verdict, row),
            audit=AuditStep(
                row_requester(row),
                v.GUARD_DECIDED,
                v.NEEDS_CONFIRMATION,
                extra=chain_params("submit", verdict.result),
            ),
        ):
            return Message(text=m.action_already(row.id, RequestState.PREVIEWED))
        await announce_break_glass(session, rt, row, row_requester(row), "submit")
    rt.wake_outbox()
    assert verdict.preview is not None
    note = m.preview_note(row.risk, row.approvals_required, approver_roles(verdict.ctx))
    return action_blocks.preview_card(row, verdict.preview, note=note, buttons=True)


async def await_approval(
    rt: Runtime, row: ActionRequest, verdict: Assessment, stage: str, actor: Person
) -> Message:
    roles = approver_roles(verdict.ctx)
    if stage == "approve":  # recorded, but more approvals are needed
        async with writing(rt.sessions) as session:
            status = m.card_waiting(verdict.result.reason(), row.expires_at)
            asked = await approvers_for(rt, session, roles, row.requester_id, rt.clock())
            shown = action_blocks.card(row, status, open_=True, approvers=asked.mentions())
            await notify.update_card(session, rt, row, shown)
        rt.wake_outbox()
        return Message(text=m.approval_recorded(verdict.result.reason()))
    expires = (
        rt.clock()
        + timedelta(minutes=rt.config.policies.approval_for(verdict.ctx.rule).expires_minutes)
        if verdict.ctx.rule
        else rt.clock()
    )
    async with writing(rt.sessions) as session:
        # The confirm click already moved it to `confirmed`; posting the card is the step.
        if not await move(
            session,
            rt,
            row,
            to=RequestState.CONFIRMED,
            expect=(RequestState.REQUESTED, RequestState.PREVIEWED, RequestState.CONFIRMED),
            where=[~ActionRequest.card_posted],
            facts={**decided(verdict, row), "expires_at": expires, "card_posted": True},
            audit=AuditStep(
                actor,
                v.APPROVAL_REQUESTED,
                v.NEEDS_APPROVAL,
                extra=chain_params(
                    stage,
                    verdict.result,
                    approver_roles=roles,
                    params_hash=row.params_hash,
                    expires_at=expires.isoformat(),
                ),
            ),
        ):
            return Message(text=m.action_already(row.id, RequestState.CONFIRMED))
        await announce_break_glass(session, rt, row, actor, stage)
        status = m.card_waiting(verdict.result.reason(), expires, requester=row.requester_id)
        asked = await approvers_for(rt, session, roles, row.requester_id, rt.clock())
        shown = action_blocks.card(row, status, open_=True, approvers=asked.mentions())
        await notify.post_card(session, rt, row, shown)
        ask_directly(session, rt, row, asked)
    rt.wake_outbox()
    # A new approval waits on the App Home of everyone who may decide it.
    rt.homes_changed(known_people(rt.config))
    where = m.where_card(row.channel_id, row.thread_ts)
    if stage == "submit" and verdict.preview is not None:
        note = m.approval_requested_note(roles, where)
        return action_blocks.preview_card(row, verdict.preview, note=note, buttons=False)
    return Message(text=m.confirmed_awaiting_approval(roles, where))


def row_requester(row: ActionRequest) -> Person:
    return Person(row.requester_id, row.requester_name)


async def announce_break_glass(
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
