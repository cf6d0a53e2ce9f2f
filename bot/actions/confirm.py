"""The requester's own buttons on the preview: Confirm and Cancel.

Confirm is a conditional UPDATE `previewed → confirmed` (one click wins; a double click,
a Slack retry or the other replica is told "already confirmed") followed by the whole
chain again, as `bot.actions.flow.advance`. Cancel ends a request that has not run.
"""

from __future__ import annotations

from bot import messages as m
from bot.actions import action_blocks, notify
from bot.actions.flow import advance
from bot.actions.guard_chain import Person
from bot.actions.journal import record
from bot.actions.models import PENDING
from bot.actions.store import get_request, release_lock, transition
from bot.audit import vocabulary as v
from bot.db.unit_of_work import writing
from bot.outbox import Message
from bot.runtime import Runtime


async def confirm(rt: Runtime, request_id: str, clicker: Person) -> Message:
    async with writing(rt.sessions) as session:
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
    async with writing(rt.sessions) as session:
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
            await notify.update_card(
                session, rt, row, action_blocks.card(row, m.cancelled_by(clicker.id))
            )
    rt.wake_outbox()
    return Message(text=m.action_cancelled(row.action, row.target))
