"""Reading and writing campaign rows: counts by state, the audit rows of the lifecycle,
and the one card each campaign has in its channel (edited through the outbox)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.audit.actors import Actor
from bot.audit.hash_chain import KeyRing
from bot.audit.writer import AuditRecord, append
from bot.campaigns.models import Campaign, CampaignState, CampaignTarget, TargetState
from bot.outbox import Message
from bot.runtime import Runtime

T = TargetState


def card_key(campaign_id: str) -> str:
    return f"campaign:{campaign_id}:card"


def audit_target(campaign_id: str) -> str:
    return f"campaign:{campaign_id}"


@dataclass(frozen=True)
class Counts:
    skipped: int = 0
    pending: int = 0
    running: int = 0  # starting and running
    succeeded: int = 0
    failed: int = 0
    refused: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.running + self.succeeded + self.failed + self.refused

    @property
    def ended(self) -> int:
        return self.succeeded + self.failed + self.refused


async def counts(session: AsyncSession, campaign_id: str) -> Counts:
    rows = await session.execute(
        select(CampaignTarget.state, func.count())
        .where(CampaignTarget.campaign_id == campaign_id)
        .group_by(CampaignTarget.state)
    )
    by = {state: int(n) for state, n in rows.all()}
    return Counts(
        skipped=by.get(T.SKIPPED, 0),
        pending=by.get(T.PENDING, 0),
        running=by.get(T.STARTING, 0) + by.get(T.RUNNING, 0),
        succeeded=by.get(T.SUCCEEDED, 0),
        failed=by.get(T.FAILED, 0),
        refused=by.get(T.REFUSED, 0),
    )


async def grouped_reasons(
    session: AsyncSession, campaign_id: str, states: tuple[str, ...]
) -> dict[str, list[str]]:
    """Targets in `states`, grouped by their reason (the card's thread lists them so)."""
    rows = await session.execute(
        select(CampaignTarget.reason, CampaignTarget.service)
        .where(CampaignTarget.campaign_id == campaign_id, CampaignTarget.state.in_(states))
        .order_by(CampaignTarget.service)
    )
    groups: dict[str, list[str]] = defaultdict(list)
    for reason, service in rows.all():
        groups[reason or "no reason given"].append(service)
    return dict(groups)


async def get(session: AsyncSession, campaign_id: str) -> Campaign | None:
    return await session.get(Campaign, campaign_id)


async def move(
    session: AsyncSession,
    rt: Runtime,
    campaign_id: str,
    *,
    expect: tuple[CampaignState, ...],
    **values: Any,
) -> bool:
    """A conditional UPDATE of the campaign: whoever's row count is 1 won the move."""
    done = await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.state.in_([s.value for s in expect]))
        .values(updated_at=rt.clock(), **values)
        .execution_options(synchronize_session=False)
    )
    return int(done.rowcount or 0) == 1  # type: ignore[attr-defined]


async def audit(
    session: AsyncSession,
    rt: Runtime,
    campaign: Campaign,
    *,
    actor: Actor,
    action: str,
    outcome: str,
    params: dict[str, Any] | None = None,
) -> AuditRecord:
    base = {
        "campaign": campaign.id,
        "action": campaign.action,
        "selector": campaign.selector,
        "target_digest": campaign.target_digest,
        "rate": json.loads(campaign.rate),
    }
    return await append(
        session,
        key=KeyRing.from_config(rt.config.audit),
        actor=actor,
        action=action,
        target=audit_target(campaign.id),
        params={**base, **(params or {})},
        outcome=outcome,
        ref=campaign.id,
        clock=rt.clock,
    )


def post_card(session: AsyncSession, rt: Runtime, campaign: Campaign, msg: Message) -> None:
    outbox.post(
        session, channel=campaign.channel_id, message=msg, key=card_key(campaign.id), clock=rt.clock
    )


async def update_card(session: AsyncSession, rt: Runtime, campaign: Campaign, msg: Message) -> None:
    # A still-pending edit of the card is superseded by this one (coalesced edits).
    await outbox.update(
        session, channel=campaign.channel_id, key=card_key(campaign.id), message=msg, clock=rt.clock
    )


def in_thread(
    session: AsyncSession, rt: Runtime, campaign: Campaign, msg: Message, key: str | None = None
) -> None:
    outbox.post(
        session,
        channel=campaign.channel_id,
        message=msg,
        key=key,
        thread_key=card_key(campaign.id),
        clock=rt.clock,
    )


def approvers(campaign: Campaign) -> list[str]:
    return list(json.loads(campaign.approved_by or "[]"))


@dataclass(frozen=True)
class CardFacts:
    counts: Counts
    skipped_by_reason: dict[str, int]
    by_region: dict[str, int]


async def card_facts(session: AsyncSession, campaign_id: str) -> CardFacts:
    mine = CampaignTarget.campaign_id == campaign_id
    skipped = await session.execute(
        select(CampaignTarget.reason, func.count())
        .where(mine, CampaignTarget.state == T.SKIPPED)
        .group_by(CampaignTarget.reason)
    )
    regions = await session.execute(
        select(CampaignTarget.region, func.count())
        .where(mine, CampaignTarget.state != T.SKIPPED)
        .group_by(CampaignTarget.region)
    )
    return CardFacts(
        counts=await counts(session, campaign_id),
        skipped_by_reason={r or "": int(n) for r, n in skipped.all()},
        by_region={r: int(n) for r, n in regions.all()},
    )
