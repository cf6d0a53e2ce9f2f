"""Which approval requests wait for a given person: open cards whose Approver guard would
let them decide (the App Home lists them with Approve and Deny)."""

from __future__ import annotations

from sqlalchemy import select

from bot.actions.approval_decision import may_decide
from bot.actions.guard_chain import Person
from bot.actions.lifecycle import RequestState
from bot.actions.models import ActionApproval, ActionRequest
from bot.runtime import Runtime

# The most a person is shown; older ones are still on their cards.
SHOWN = 10


async def waiting_for(rt: Runtime, person: Person) -> list[ActionRequest]:
    now = rt.clock()
    decided = select(ActionApproval.request_id).where(ActionApproval.approver_id == person.id)
    stmt = (
        select(ActionRequest)
        .where(
            ActionRequest.state == RequestState.CONFIRMED,
            ActionRequest.card_posted,
            ActionRequest.approvals_required > 0,
            ActionRequest.requester_id != person.id,
            ActionRequest.id.not_in(decided),
        )
        .order_by(ActionRequest.created_at.desc())
        .limit(SHOWN * 3)
    )
    async with rt.sessions() as session:
        rows = list(await session.scalars(stmt))
    open_rows = [r for r in rows if r.expires_at is None or r.expires_at > now]
    # The same guard a click on Approve passes: a card shows only what it would accept.
    return [r for r in open_rows if await may_decide(rt, r, person)][:SHOWN]
