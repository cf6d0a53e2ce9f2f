"""One target's turn: its action, as an ordinary guarded request of `bot.actions`.

The request's idempotency key is `campaign:<id>:<service>` (UNIQUE in `action_requests`,
sent to the fleet as `Idempotency-Key`), so a target claimed again after its replica died
finds the request the dead one made and carries it on from where it stopped (made, not
yet approved, approved, not yet claimed) instead of making another. Every guard of
`/fleet <action>` runs for it as for a person's request (permission, freeze, rate limits,
concurrency cap, lock, capacity floor, the fleet's plan); a refusal is the target's
outcome, never forced. Its approvals are the campaign's approvers', bound to its own
parameters, and the chain asks nobody: a rule that wants more than the campaign had
refuses the target (docs/campaigns.md, "Every target's guards").
"""

from __future__ import annotations

import json

from sqlalchemy import select, update

from bot.actions import flow
from bot.actions.execute import execute
from bot.actions.guard_chain import Person
from bot.actions.lifecycle import RequestState
from bot.actions.models import ActionRequest
from bot.campaigns.models import Campaign, CampaignTarget, TargetState
from bot.db.unit_of_work import writing
from bot.runtime import Runtime


def target_key(campaign_id: str, service: str) -> str:
    return f"campaign:{campaign_id}:{service}"[:200]


async def _request_by_key(rt: Runtime, key: str) -> ActionRequest | None:
    async with rt.sessions() as session:
        found: ActionRequest | None = await session.scalar(
            select(ActionRequest).where(ActionRequest.idempotency_key == key)
        )
        return found


async def take_turn(rt: Runtime, campaign: Campaign, target: CampaignTarget) -> None:
    """Start (or carry on) the target's request, then link the target row to it."""
    key = target_key(campaign.id, target.service)
    owner = Person(campaign.owner_id, campaign.owner_name)
    row = await _request_by_key(rt, key)
    if row is None:
        approvers = tuple(Person(u) for u in json.loads(campaign.approved_by or "[]"))
        await flow.submit(
            rt,
            flow.Draft(
                action=campaign.action,
                target=target.service,
                params=json.loads(campaign.params),
                requester=owner,
                channel_id=campaign.channel_id,
                idempotency_key=key,
                reason=campaign.reason,
                campaign_id=campaign.id,
                approved_by=approvers,
            ),
        )
    elif row.state == RequestState.REQUESTED:
        await flow.advance(rt, row.id, "confirm", owner, may_ask=False)
    elif row.state == RequestState.APPROVED:
        await execute(rt, row.id)
    row = await _request_by_key(rt, key)
    if row is None:  # the insert lost to a rollback elsewhere; the next claim tries again
        return
    async with writing(rt.sessions) as session:
        await session.execute(
            update(CampaignTarget)
            .where(
                CampaignTarget.id == target.id,
                CampaignTarget.state == TargetState.STARTING.value,
            )
            .values(state=TargetState.RUNNING.value, request_id=row.id)
            .execution_options(synchronize_session=False)
        )
