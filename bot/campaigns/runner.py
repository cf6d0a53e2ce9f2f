"""Carrying campaigns on, on every replica (docs/campaigns.md, "How a campaign runs").

Each replica, every `campaigns.tick_seconds`, takes each running campaign one step:

1. targets whose request ended take its outcome (succeeded; failed, a post-check that did
   not hold included; refused by a guard);
2. the halting rules: automation's kill switch, failures past `max_errors`, a new page
   stored for a target acted on since the wave began (during the wave or its bake);
3. a wave whose targets have all ended starts its bake; a bake that passed starts the
   next wave; the last wave's end finishes the campaign;
4. otherwise targets are claimed, up to the ramp (1, 2, 4, … up to `concurrency`) minus
   those running, and each takes its turn (bot/campaigns/turn.py).

Claims happen with the campaign row locked (`FOR UPDATE` on PostgreSQL, the write lock
on SQLite), so two replicas never both fill the same free slots; the target rows are
taken with `FOR UPDATE SKIP LOCKED`. Every change is a conditional UPDATE: a replica
that loses a move does nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages as m
from bot.actions.lifecycle import FINISHED, RequestState
from bot.actions.models import ActionRequest
from bot.actions.second_person import second_person
from bot.audit import vocabulary as v
from bot.audit.actors import AUTOMATION
from bot.automation.store import switch_state
from bot.campaigns import store
from bot.campaigns.models import Campaign, CampaignState, CampaignTarget, TargetState
from bot.campaigns.rate import ramp
from bot.campaigns.service import refresh_card
from bot.campaigns.turn import take_turn
from bot.db.unit_of_work import writing
from bot.incidents.models import PageRecord
from bot.outbox import Message
from bot.runtime import Runtime

log = logging.getLogger(__name__)
S, T = CampaignState, TargetState
# A request's end, as the target's outcome.
OUTCOME = {
    RequestState.SUCCEEDED: T.SUCCEEDED,
    RequestState.FAILED: T.FAILED,
    RequestState.CANCELLED: T.FAILED,
    RequestState.EXPIRED: T.FAILED,
    RequestState.DENIED: T.REFUSED,
}


async def run_campaigns(rt: Runtime) -> None:
    """The loop every replica runs (an `at_start` step), until the bot stops."""
    while True:
        try:
            await tick(rt)
        except Exception:  # the database may be away a moment; the next tick retries
            log.exception("campaign tick failed")
        await asyncio.sleep(rt.config.campaigns.tick_seconds)


async def tick(rt: Runtime) -> None:
    if not rt.config.campaigns.enabled:
        return
    async with rt.sessions() as session:
        live = list(
            await session.scalars(
                select(Campaign.id).where(
                    Campaign.state.in_([S.RUNNING.value, S.PAUSED.value, S.HALTED.value])
                    | (
                        (Campaign.state == S.ABORTED.value)
                        & Campaign.id.in_(
                            select(CampaignTarget.campaign_id).where(
                                CampaignTarget.state.in_([T.STARTING.value, T.RUNNING.value])
                            )
                        )
                    )
                )
            )
        )
    for campaign_id in live:
        await step(rt, campaign_id)


async def step(rt: Runtime, campaign_id: str) -> None:
    await _settle(rt, campaign_id)
    async with rt.sessions() as session:
        campaign = await store.get(session, campaign_id)
    if campaign is None:
        return
    if campaign.state == S.RUNNING and not await _halted_by_rules(rt, campaign):
        await _advance_waves(rt, campaign)
        await _claim_and_start(rt, campaign_id)
    await _maybe_refresh(rt, campaign_id)


async def _settle(rt: Runtime, campaign_id: str) -> int:
    """Targets whose request ended take its outcome; stale claims are taken again."""
    now = rt.clock()
    async with rt.sessions() as session:
        ended = (
            await session.execute(
                select(CampaignTarget.id, ActionRequest.state, ActionRequest.detail)
                .join(ActionRequest, ActionRequest.id == CampaignTarget.request_id)
                .where(
                    CampaignTarget.campaign_id == campaign_id,
                    CampaignTarget.state == T.RUNNING.value,
                    ActionRequest.state.in_([s.value for s in FINISHED]),
                )
            )
        ).all()
    if ended:
        async with writing(rt.sessions) as session:
            for target_id, state, detail in ended:
                outcome = OUTCOME[RequestState(state)]
                if outcome == T.SUCCEEDED and detail:  # succeeded, its post-check did not hold
                    outcome = T.FAILED
                await session.execute(
                    update(CampaignTarget)
                    .where(CampaignTarget.id == target_id, CampaignTarget.state == T.RUNNING.value)
                    .values(state=outcome.value, reason=detail, finished_at=now)
                    .execution_options(synchronize_session=False)
                )
    await _retake_stale(rt, campaign_id, now)
    return len(ended)


async def _retake_stale(rt: Runtime, campaign_id: str, now: datetime) -> None:
    """A target claimed by a replica that died before linking its request: claimed again,
    and its turn carries on the request the dead replica made, if it made one."""
    stale_before = now - timedelta(seconds=rt.config.campaigns.claim_seconds)
    async with writing(rt.sessions) as session:
        stale = list(
            await session.scalars(
                _lockable(
                    session,
                    select(CampaignTarget).where(
                        CampaignTarget.campaign_id == campaign_id,
                        CampaignTarget.state == T.STARTING.value,
                        CampaignTarget.claimed_at < stale_before,
                    ),
                )
            )
        )
        for target in stale:
            target.claimed_by, target.claimed_at = rt.scheduler.owner, now
        campaign = await store.get(session, campaign_id)
    if campaign is not None:
        for target in stale:
            rt.background.spawn(take_turn(rt, campaign, target), "campaign target")


def _lockable(session: AsyncSession, query: Select[CampaignTarget]) -> Select[CampaignTarget]:
    """`FOR UPDATE SKIP LOCKED` where the database has it (PostgreSQL); SQLite has one
    writer at a time, which `writing` already is."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


async def _pages_since(rt: Runtime, campaign: Campaign) -> list[str]:
    """Services acted on by the campaign with a page stored since the wave began: what the
    bake watches (stored pages, not only grouped incidents)."""
    if campaign.wave_started_at is None:
        return []
    async with rt.sessions() as session:
        found = await session.scalars(
            select(PageRecord.service)
            .join(
                CampaignTarget,
                and_(
                    CampaignTarget.service == PageRecord.service,
                    CampaignTarget.campaign_id == campaign.id,
                ),
            )
            .where(
                CampaignTarget.state.in_(
                    [T.RUNNING.value, T.SUCCEEDED.value, T.FAILED.value, T.STARTING.value]
                ),
                PageRecord.received_at >= campaign.wave_started_at,
                PageRecord.status == "firing",
            )
            .distinct()
        )
        return sorted(s for s in found if s)


async def _halted_by_rules(rt: Runtime, campaign: Campaign) -> bool:
    async with rt.sessions() as session:
        paused = (await switch_state(session)).paused
        n = await store.counts(session, campaign.id)
    why: str | None = None
    if paused:
        why = m.HALT_KILL_SWITCH
    elif n.failed - campaign.errors_forgiven > campaign.max_errors:
        why = m.halt_max_errors(n.failed - campaign.errors_forgiven, campaign.max_errors)
    else:
        paged = await _pages_since(rt, campaign)
        if paged:
            why = m.halt_pages(len(paged), paged)
    if why is None:
        return False
    await halt(rt, campaign, why)
    return True


async def halt(rt: Runtime, campaign: Campaign, why: str) -> None:
    """No new target starts; running ones finish. The owner and the on-call are pinged."""
    async with writing(rt.sessions) as session:
        if not await store.move(
            session, rt, campaign.id, expect=(S.RUNNING,), state=S.HALTED.value, detail=why
        ):
            return
        campaign.state, campaign.detail = S.HALTED.value, why
        await store.audit(
            session, rt, campaign, actor=AUTOMATION, action=v.CAMPAIGN_HALTED, outcome=v.HALTED,
            params={"why": why, "wave": campaign.wave + 1},
        )  # fmt: skip
        on_call = await second_person(
            session, rt, channel=campaign.channel_id, actor=campaign.owner_id, now=rt.clock()
        )
        ping = m.campaign_halted_ping(campaign.owner_id, [on_call] if on_call else [], why)
        store.in_thread(session, rt, campaign, Message(text=ping))
        await _failures_in_thread(session, rt, campaign)
        session.add(campaign)
        await refresh_card(session, rt, campaign)
    rt.wake_outbox()


async def _failures_in_thread(session: AsyncSession, rt: Runtime, campaign: Campaign) -> None:
    """Failures and refusals so far, grouped by reason: one message, never one a target."""
    groups = await store.grouped_reasons(session, campaign.id, (T.FAILED.value, T.REFUSED.value))
    if groups:
        title = f"Failed or refused after wave {campaign.wave + 1}"
        store.in_thread(session, rt, campaign, Message(text=m.failures_by_reason(title, groups)))


async def _wave_open(session: AsyncSession, campaign_id: str, end: int) -> int:
    """Targets of the waves so far that have not ended."""
    left = await session.scalar(
        select(func.count())
        .select_from(CampaignTarget)
        .where(
            CampaignTarget.campaign_id == campaign_id,
            CampaignTarget.position >= 0,
            CampaignTarget.position < end,
            CampaignTarget.state.in_([T.PENDING.value, T.STARTING.value, T.RUNNING.value]),
        )
    )
    return int(left or 0)


async def _advance_waves(rt: Runtime, campaign: Campaign) -> None:
    ends = json.loads(campaign.wave_ends)
    now = rt.clock()
    async with rt.sessions() as session:
        if await _wave_open(session, campaign.id, ends[campaign.wave]):
            return
    last = campaign.wave + 1 >= len(ends)
    async with writing(rt.sessions) as session:
        same_wave = Campaign.wave == campaign.wave
        if last:
            if not await _move_where(session, rt, campaign, same_wave, state=S.FINISHED.value,
                                     finished_at=now):  # fmt: skip
                return
            campaign.state = S.FINISHED.value
            n = await store.counts(session, campaign.id)
            await store.audit(
                session, rt, campaign, actor=AUTOMATION, action=v.CAMPAIGN_FINISHED,
                outcome=v.FINISHED,
                params={"succeeded": n.succeeded, "failed": n.failed, "refused": n.refused,
                        "skipped": n.skipped},
            )  # fmt: skip
            await _failures_in_thread(session, rt, campaign)
        elif campaign.bake_until is None:
            until = now + timedelta(seconds=campaign.bake_seconds)
            unbaked = same_wave & Campaign.bake_until.is_(None)
            if not await _move_where(session, rt, campaign, unbaked, bake_until=until):
                return
            campaign.bake_until = until
            await store.audit(
                session, rt, campaign, actor=AUTOMATION, action=v.CAMPAIGN_WAVE,
                outcome=v.BAKED, params={"wave": campaign.wave + 1, "until": until.isoformat()},
            )  # fmt: skip
            await _failures_in_thread(session, rt, campaign)
        elif now >= campaign.bake_until:
            if not await _move_where(session, rt, campaign, same_wave, wave=campaign.wave + 1,
                                     wave_started_at=now, bake_until=None):  # fmt: skip
                return
            campaign.wave, campaign.wave_started_at, campaign.bake_until = (
                campaign.wave + 1,
                now,
                None,
            )
            await store.audit(
                session, rt, campaign, actor=AUTOMATION, action=v.CAMPAIGN_WAVE,
                outcome=v.STARTED, params={"wave": campaign.wave + 1},
            )  # fmt: skip
        else:
            return
        session.add(campaign)
        await refresh_card(session, rt, campaign)
    rt.wake_outbox()


async def _move_where(
    session: AsyncSession, rt: Runtime, campaign: Campaign, where: object, **values: object
) -> bool:
    done = await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.state == S.RUNNING.value, where)  # type: ignore[arg-type]
        .values(updated_at=rt.clock(), **values)
        .execution_options(synchronize_session=False)
    )
    return int(done.rowcount or 0) == 1  # type: ignore[attr-defined]


async def _claim_and_start(rt: Runtime, campaign_id: str) -> None:
    now = rt.clock()
    async with writing(rt.sessions, reads_decide=True) as session:
        query = select(Campaign).where(Campaign.id == campaign_id)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        campaign = await session.scalar(query)
        if campaign is None or campaign.state != S.RUNNING.value or campaign.bake_until:
            return
        n = await store.counts(session, campaign_id)
        free = ramp(campaign.concurrency, n.ended) - n.running
        if free <= 0:
            return
        end = json.loads(campaign.wave_ends)[campaign.wave]
        claimed = list(
            await session.scalars(
                _lockable(
                    session,
                    select(CampaignTarget)
                    .where(
                        CampaignTarget.campaign_id == campaign_id,
                        CampaignTarget.state == T.PENDING.value,
                        CampaignTarget.position < end,
                    )
                    .order_by(CampaignTarget.position)
                    .limit(free),
                )
            )
        )
        for target in claimed:
            target.state = T.STARTING.value
            target.claimed_by, target.claimed_at = rt.scheduler.owner, now
        session.expunge(campaign)
    for target in claimed:
        rt.background.spawn(take_turn(rt, campaign, target), "campaign target")


async def _maybe_refresh(rt: Runtime, campaign_id: str) -> None:
    """The card, edited when what it shows changed, at most every `card_every_seconds`."""
    now = rt.clock()
    every = timedelta(seconds=rt.config.campaigns.card_every_seconds)
    async with writing(rt.sessions) as session:
        campaign = await store.get(session, campaign_id)
        if campaign is None:
            return
        if campaign.card_updated_at is not None and now - campaign.card_updated_at < every:
            return
        n = await store.counts(session, campaign_id)
        shown = hashlib.sha256(
            f"{campaign.state}|{campaign.wave}|{campaign.bake_until}|{n}".encode()
        ).hexdigest()
        if shown == campaign.card_digest:
            return
        before = campaign.card_updated_at
        seen = (
            Campaign.card_updated_at.is_(None)
            if before is None
            else Campaign.card_updated_at == before
        )
        done = await session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id, seen)
            .values(card_digest=shown, card_updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if int(done.rowcount or 0) != 1:  # type: ignore[attr-defined]
            return  # another replica edits it
        await refresh_card(session, rt, campaign)
    rt.wake_outbox()
