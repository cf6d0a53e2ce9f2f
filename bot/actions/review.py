"""The mandatory follow-up of break-glass run by one person alone (docs/actions.md).

Break-glass skips the approval, so nobody but the actor saw the action before it ran.
When such a request is claimed for execution with no approver, the same transaction
marks it `review_asked_at` and posts a follow-up into its thread that mentions the second
on-call (`bot.actions.second_person`) with a *Reviewed* button. Until someone other than
the actor clicks it, the handoff summary lists the action under "Needs review". The
review is a conditional UPDATE (`reviewed_at IS NULL`), so a double click or two
reviewers at once record one review; it writes an `action.reviewed` audit row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import block_kit as b
from bot import messages as m
from bot.actions import notify
from bot.actions.guard_chain import Person
from bot.actions.journal import record, record_alone
from bot.actions.models import ActionRequest
from bot.actions.second_person import second_person
from bot.actions.store import get_request
from bot.audit import vocabulary as v
from bot.db.unit_of_work import writing
from bot.outbox import Message
from bot.runtime import Runtime

REVIEW_BUTTON = "act-review"


def review_key(request_id: str) -> str:
    return f"act:{request_id}:review"


def needs_review(row: ActionRequest, approvers: list[str]) -> bool:
    """Break-glass that nobody else approved: the actor alone decided it."""
    return row.break_glass and not [a for a in approvers if a != row.requester_id]


def _review_button(request_id: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": m.REVIEW_BUTTON},
        "action_id": f"{REVIEW_BUTTON}:{request_id}",
        # The request id only: what is reviewed is looked up, never taken from a click.
        "value": request_id,
        "style": "primary",
    }


def asking(row: ActionRequest, reviewer: str | None) -> Message:
    """The follow-up in the request's thread, with its *Reviewed* button."""
    text = m.review_asked(row.requester_id, row.action, row.target, row.reason, reviewer)
    button = {"type": "actions", "elements": [_review_button(row.id)]}
    return Message(text=text, blocks=[b.section(text), button])


def reviewed(row: ActionRequest, reviewer: str, at: str) -> Message:
    """The follow-up once reviewed: its button gone, naming who reviewed it."""
    text = m.review_done(row.requester_id, row.action, row.target, row.reason, reviewer, at)
    return Message(text=text, blocks=[b.section(text)])


async def ask_for_review(session: AsyncSession, rt: Runtime, row: ActionRequest) -> None:
    """Inside the execution claim: mark the request and queue the follow-up."""
    now = rt.clock()
    reviewer = await second_person(
        session, rt, channel=row.channel_id, actor=row.requester_id, now=now
    )
    row.review_asked_at = now
    await notify.in_thread(session, rt, row, asking(row, reviewer), key=review_key(row.id))


async def review(rt: Runtime, request_id: str, clicker: Person) -> Message:
    """The *Reviewed* click: anyone the permission step lets by, except the actor."""
    async with rt.sessions() as session:
        row = await get_request(session, request_id)
    if row is None:
        return Message(text=m.STALE_BUTTON)
    if row.review_asked_at is None:
        return Message(text=m.NOTHING_TO_REVIEW)
    if row.reviewed_at is not None:
        return Message(text=m.already_reviewed(row.reviewed_by, m.at_utc(row.reviewed_at)))
    if clicker.id == row.requester_id:
        await record_alone(
            rt,
            actor=clicker,
            action=v.ACTION_REVIEWED,
            row=row,
            outcome=v.DENIED,
            extra={"why": "the actor cannot review their own break-glass action"},
        )
        return Message(text=m.OWN_REVIEW_REFUSED)
    now = rt.clock()
    async with writing(rt.sessions) as session:
        won = await session.execute(
            update(ActionRequest)
            .where(ActionRequest.id == row.id, ActionRequest.reviewed_at.is_(None))
            .values(reviewed_at=now, reviewed_by=clicker.id, reviewed_by_name=clicker.name[:200])
        )
        if int(won.rowcount or 0) != 1:  # type: ignore[attr-defined]
            current = await get_request(session, row.id)
            assert current is not None and current.reviewed_at is not None
            return Message(
                text=m.already_reviewed(current.reviewed_by, m.at_utc(current.reviewed_at))
            )
        await record(
            session, rt, actor=clicker, action=v.ACTION_REVIEWED, row=row, outcome=v.REVIEWED
        )
        done = reviewed(row, clicker.id, m.at_utc(now))
        await notify.update_reply(session, rt, row, done, key=review_key(row.id))
    rt.wake_outbox()
    return Message(text=m.you_reviewed(row.action, row.target))
