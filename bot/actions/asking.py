"""Asking people: the preview the requester confirms, the approval card others decide on,
and the break-glass announcement; each writes what the chain settled onto the request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages as m
from bot.actions import action_blocks, notify
from bot.actions.assess import Assessment
from bot.actions.guard_chain import Person
from bot.actions.guards import approval_required, approver_roles
from bot.actions.journal import chain_params, record
from bot.actions.models import ActionRequest
from bot.actions.port import plan_digest
from bot.actions.store import transition
from bot.audit import vocabulary as v
from bot.db.unit_of_work import writing
from bot.outbox import Message
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
    if row.state == "requested":
        values["approvals_required"] = approval_required(verdict.ctx)
        values["needs_confirmation"] = "confirmation" in verdict.result.needs
    return values


async def preview(rt: Runtime, row: ActionRequest, verdict: Assessment) -> Message:
    async with writing(rt.sessions) as session:
        values = decided(verdict, row)
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
        await announce_break_glass(session, rt, row, row_requester(row), "submit")
    rt.wake_outbox()
    for key, value in values.items():
        setattr(row, key, value)
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
            await notify.update_card(session, rt, row, action_blocks.card(row, status, open_=True))
        rt.wake_outbox()
        return Message(text=m.approval_recorded(verdict.result.reason()))
    expires = (
        rt.clock()
        + timedelta(minutes=rt.config.policies.approval_for(verdict.ctx.rule).expires_minutes)
        if verdict.ctx.rule
        else rt.clock()
    )
    async with writing(rt.sessions) as session:
        values = {**decided(verdict, row), "expires_at": expires}
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
        await announce_break_glass(session, rt, row, actor, stage)
        status = m.card_waiting(verdict.result.reason(), expires, requester=row.requester_id)
        await notify.post_card(session, rt, row, action_blocks.card(row, status, open_=True))
    rt.wake_outbox()
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
