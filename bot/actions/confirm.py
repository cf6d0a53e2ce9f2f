"""The requester's own buttons on the preview: Confirm and Cancel.

Confirm is a conditional UPDATE `previewed → confirmed` (one click wins; a double click,
a Slack retry or the other replica is told "already confirmed") followed by the whole
chain again, as `bot.actions.flow.advance`. Cancel ends a request that has not run.
"""

from __future__ import annotations

from bot import messages as m
from bot.actions.flow import advance
from bot.actions.guard_chain import Person
from bot.actions.lifecycle import PENDING, RequestState
from bot.actions.moves import AuditStep, Say, move
from bot.actions.store import get_request
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
            await move(
                session,
                rt,
                row,
                to=RequestState.EXPIRED,
                expect=(RequestState.PREVIEWED,),
                audit=AuditStep(clicker, v.CONFIRMATION, v.EXPIRED, lock_fact=False),
            )
            return Message(text=m.action_already(row.id, RequestState.EXPIRED))
        if not await move(
            session,
            rt,
            row,
            to=RequestState.CONFIRMED,
            expect=(RequestState.PREVIEWED,),
            audit=AuditStep(clicker, v.CONFIRMATION, v.CONFIRMED),
        ):
            return Message(text=m.action_already(row.id, row.state))
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
        # Cancelling one's own preview is declining to confirm it.
        declined = row.state == RequestState.PREVIEWED
        if not await move(
            session,
            rt,
            row,
            to=RequestState.CANCELLED,
            expect=PENDING,
            facts={"detail": m.cancelled_by(clicker.id)},
            audit=AuditStep(
                clicker,
                v.CONFIRMATION if declined else v.ACTION_CANCELLED,
                v.DECLINED if declined else v.CANCELLED,
            ),
            say=Say(card=m.cancelled_by(clicker.id)) if row.card_posted else None,
        ):
            return Message(text=m.action_already(row.id, row.state))
    rt.wake_outbox()
    return Message(text=m.action_cancelled(row.action, row.target))
