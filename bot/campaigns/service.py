"""Campaigns as service functions: plan one (the preview and its card), decide on it
(two-person approval bound to the selector, the target digest and the rate controls),
list and show them. Steering a running one is `bot.campaigns.steer`; running it is
`bot.campaigns.runner`.

Approval reuses the actions' decision rows (`action_approvals`, one decision per person
per request, UNIQUE): the campaign id is the request id and `params_hash` is the
campaign's binding hash, so an approval counts only for what the approver saw.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages as m
from bot.actions.guard_chain import Person
from bot.actions.models import ActionApproval
from bot.audit import vocabulary as v
from bot.audit.actors import Actor
from bot.campaigns import card, store
from bot.campaigns.models import Campaign, CampaignState, CampaignTarget, TargetState
from bot.campaigns.plan import Preview, binding_hash, digest_of, preview, resolve
from bot.campaigns.rate import RateControls, parse_rate_controls
from bot.db.unit_of_work import writing
from bot.outbox import Message
from bot.permissions.roles import holds
from bot.permissions.usergroups import role_book
from bot.runtime import Runtime
from integrations.fleet.selector import Selector, parse_selector

S = CampaignState
# Rows per INSERT when a campaign's targets are written (well under PostgreSQL's limit
# of 65,535 parameters at six columns a row).
INSERT_BATCH = 2_000


@dataclass(frozen=True)
class Draft:
    action: str
    selector: Selector
    rate: RateControls
    owner: Person
    channel_id: str
    reason: str | None = None


def new_campaign_id() -> str:
    return "cmp-" + uuid.uuid4().hex[:8]


def may(rt: Runtime, user_id: str, roles: list[str]) -> bool:
    return bool(roles) and holds(role_book(rt), user_id, roles)


def actor_of(person: Person) -> Actor:
    return Actor.slack(person.id, person.name)


async def _write_targets(session: AsyncSession, campaign_id: str, p: Preview) -> None:
    rows = [
        {
            "campaign_id": campaign_id,
            "position": i,
            "service": s.name,
            "region": s.region[:64],
            "state": TargetState.PENDING.value,
            "reason": None,
        }
        for i, s in enumerate(p.runnable)
    ] + [
        {
            "campaign_id": campaign_id,
            "position": -1,
            "service": s.name,
            "region": s.region[:64],
            "state": TargetState.SKIPPED.value,
            "reason": why,
        }
        for s, why in p.skipped
    ]
    for start in range(0, len(rows), INSERT_BATCH):
        await session.execute(insert(CampaignTarget), rows[start : start + INSERT_BATCH])


def _planned_values(p: Preview) -> dict[str, object]:
    return {
        "target_digest": p.digest,
        "binding_hash": binding_hash(
            action=p.action, params={}, selector=p.selector, digest=p.digest, rate=p.rate
        ),
        "rate": json.dumps(p.rate.canonical(), sort_keys=True),
        "concurrency": p.resolved.concurrency,
        "max_errors": p.resolved.max_errors,
        "wave_ends": json.dumps(list(p.resolved.wave_ends)),
        "bake_seconds": p.resolved.bake_seconds,
        "estimate_seconds": p.estimate_seconds,
        "target_count": len(p.runnable),
    }


async def refresh_card(session: AsyncSession, rt: Runtime, campaign: Campaign) -> None:
    facts = await store.card_facts(session, campaign.id)
    await store.update_card(session, rt, campaign, card.render(campaign, facts, rt.clock()))
    campaign.card_updated_at = rt.clock()


async def plan(rt: Runtime, draft: Draft) -> Message:
    cfg = rt.config.campaigns
    if not may(rt, draft.owner.id, cfg.start_roles):
        return Message(text=m.campaign_not_permitted("start", cfg.start_roles))
    services = await resolve(rt, draft.selector)
    if not services:
        return Message(text=m.nothing_found(str(draft.selector)))
    if len(services) > cfg.max_targets:
        return Message(text=m.campaign_too_many(len(services), cfg.max_targets))
    p = await preview(
        rt,
        action=draft.action,
        selector=draft.selector,
        rate=draft.rate,
        requester=draft.owner.id,
        services=services,
    )
    if not p.runnable:
        return Message(text=m.campaign_nothing_to_run(p.matched))
    now = rt.clock()
    campaign = Campaign(
        id=new_campaign_id(),
        action=draft.action,
        params="{}",
        selector=p.selector,
        state=S.PLANNED.value,
        owner_id=draft.owner.id,
        owner_name=draft.owner.name[:200],
        channel_id=draft.channel_id,
        reason=draft.reason,
        wave=0,
        errors_forgiven=0,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(minutes=cfg.approval_minutes),
        **_planned_values(p),
    )
    async with writing(rt.sessions) as session:
        session.add(campaign)
        await session.flush()
        await _write_targets(session, campaign.id, p)
        await store.audit(
            session, rt, campaign, actor=actor_of(draft.owner), action=v.CAMPAIGN_PLANNED,
            outcome=v.NEEDS_APPROVAL,
            params={"matched": p.matched, "targets": len(p.runnable),
                    "skipped": dict(p.skipped_by_reason), "reason": draft.reason,
                    "estimate_seconds": p.estimate_seconds},
        )  # fmt: skip
        facts = await store.card_facts(session, campaign.id)
        store.post_card(session, rt, campaign, card.render(campaign, facts, now))
    rt.wake_outbox()
    return Message(text=m.campaign_planned(campaign.id, cfg.approve_roles, len(p.runnable)))


async def _replan(rt: Runtime, campaign: Campaign, clicker: Person, p: Preview) -> Message:
    """The fleet changed between preview and approval: a new preview, and every approval
    given so far no longer counts (they were for another target list)."""
    async with writing(rt.sessions) as session:
        before = await session.scalar(
            select(Campaign.target_count).where(Campaign.id == campaign.id)
        )
        values = _planned_values(p)
        if not await store.move(session, rt, campaign.id, expect=(S.PLANNED,), **values):
            return Message(text=m.campaign_state_is(campaign.id, "no longer planned"))
        await session.execute(
            delete(CampaignTarget).where(CampaignTarget.campaign_id == campaign.id)
        )
        await session.execute(
            delete(ActionApproval).where(ActionApproval.request_id == campaign.id)
        )
        await _write_targets(session, campaign.id, p)
        for key, value in values.items():
            setattr(campaign, key, value)
        await store.audit(
            session, rt, campaign, actor=actor_of(clicker), action=v.CAMPAIGN_REPLANNED,
            outcome=v.NEEDS_APPROVAL,
            params={"before_targets": before, "targets": len(p.runnable), "matched": p.matched},
        )  # fmt: skip
        session.add(campaign)
        await refresh_card(session, rt, campaign)
        text = m.campaign_replanned(int(before or 0), len(p.runnable))
        store.in_thread(session, rt, campaign, Message(text=text))
    rt.wake_outbox()
    return Message(text=text)


async def _load(rt: Runtime, campaign_id: str) -> Campaign | None:
    async with rt.sessions() as session:
        return await store.get(session, campaign_id)


def _good_approvals(rt: Runtime, campaign: Campaign, rows: list[ActionApproval]) -> list[str]:
    roles = rt.config.campaigns.approve_roles
    return sorted(
        {
            a.approver_id
            for a in rows
            if a.decision == "approve"
            and a.approver_id != campaign.owner_id
            and a.params_hash == campaign.binding_hash
            and may(rt, a.approver_id, roles)
        }
    )


async def _refuse(rt: Runtime, campaign: Campaign, clicker: Person, why: str) -> Message:
    async with writing(rt.sessions) as session:
        await store.audit(
            session, rt, campaign, actor=actor_of(clicker), action=v.CAMPAIGN_DECIDED,
            outcome=v.DENIED, params={"why": why},
        )  # fmt: skip
    return Message(text=m.decision_refused(why))


async def decide(rt: Runtime, campaign_id: str, clicker: Person, decision: str) -> Message:
    """Approve or Deny on the card. Every Approve re-resolves the targets first: a list
    other than the one previewed is a new preview, never an approval of the old one."""
    campaign = await _load(rt, campaign_id)
    if campaign is None:
        return Message(text=m.campaign_unknown(campaign_id))
    if campaign.state != S.PLANNED:
        return Message(text=m.campaign_state_is(campaign.id, campaign.state))
    cfg = rt.config.campaigns
    if clicker.id == campaign.owner_id:
        return await _refuse(rt, campaign, clicker, m.CAMPAIGN_SELF_APPROVAL)
    if not may(rt, clicker.id, cfg.approve_roles):
        return await _refuse(rt, campaign, clicker, m.action_not_approver(cfg.approve_roles))
    if rt.clock() >= campaign.expires_at:
        return await _expire(rt, campaign, clicker)
    if decision == "deny":
        return await _deny(rt, campaign, clicker)
    services = await resolve(rt, parse_selector(campaign.selector))
    if digest_of(services) != campaign.target_digest:
        rate = json.loads(campaign.rate)
        controls = parse_rate_controls(rate, defaults=cfg.defaults.rate(), caps=cfg.caps())
        p = await preview(
            rt, action=campaign.action, selector=parse_selector(campaign.selector),
            rate=controls, requester=campaign.owner_id, services=services,
        )  # fmt: skip
        return await _replan(rt, campaign, clicker, p)
    return await _approve(rt, campaign, clicker)


async def _record(
    session: AsyncSession, rt: Runtime, campaign: Campaign, clicker: Person, decision: str
) -> None:
    session.add(
        ActionApproval(
            request_id=campaign.id,
            approver_id=clicker.id,
            approver_name=clicker.name[:200],
            decision=decision,
            params_hash=campaign.binding_hash,
            at=rt.clock(),
        )
    )
    await session.flush()


async def _approve(rt: Runtime, campaign: Campaign, clicker: Person) -> Message:
    cfg = rt.config.campaigns
    try:
        async with writing(rt.sessions) as session:
            await _record(session, rt, campaign, clicker, "approve")
            seq = (
                await store.audit(
                    session,
                    rt,
                    campaign,
                    actor=actor_of(clicker),
                    action=v.CAMPAIGN_DECIDED,
                    outcome=v.APPROVED,
                    params={"binding_hash": campaign.binding_hash},
                )
            ).seq
            rows = list(
                await session.scalars(
                    select(ActionApproval).where(ActionApproval.request_id == campaign.id)
                )
            )
            good = _good_approvals(rt, campaign, rows)
            if len(good) < cfg.approvals:
                return Message(text=m.campaign_needs_more(len(good), cfg.approvals))
            now = rt.clock()
            started = await store.move(
                session, rt, campaign.id, expect=(S.PLANNED,),
                state=S.RUNNING.value, approved_by=json.dumps(good), wave=0, wave_started_at=now,
            )  # fmt: skip
            if not started:
                return Message(text=m.campaign_state_is(campaign.id, "no longer planned"))
            campaign.state, campaign.approved_by = S.RUNNING.value, json.dumps(good)
            campaign.wave, campaign.wave_started_at = 0, now
            await store.audit(
                session, rt, campaign, actor=actor_of(clicker), action=v.CAMPAIGN_APPROVED,
                outcome=v.APPROVED, params={"approved_by": good, "owner": campaign.owner_id},
            )  # fmt: skip
            await store.audit(
                session, rt, campaign, actor=actor_of(clicker), action=v.CAMPAIGN_WAVE,
                outcome=v.STARTED, params={"wave": 1},
            )  # fmt: skip
            session.add(campaign)
            await refresh_card(session, rt, campaign)
    except IntegrityError:
        return Message(text=m.ALREADY_DECIDED)
    rt.wake_outbox()
    return Message(text=m.campaign_decided(campaign.id, "approved", seq))


async def _deny(rt: Runtime, campaign: Campaign, clicker: Person) -> Message:
    try:
        async with writing(rt.sessions) as session:
            await _record(session, rt, campaign, clicker, "deny")
            why = m.action_vetoed(clicker.id)
            if not await store.move(
                session, rt, campaign.id, expect=(S.PLANNED,), state=S.DENIED.value, detail=why,
                finished_at=rt.clock(),
            ):  # fmt: skip
                return Message(text=m.campaign_state_is(campaign.id, "no longer planned"))
            campaign.state, campaign.detail = S.DENIED.value, why
            seq = (
                await store.audit(
                    session,
                    rt,
                    campaign,
                    actor=actor_of(clicker),
                    action=v.CAMPAIGN_DECIDED,
                    outcome=v.REJECTED,
                    params={"binding_hash": campaign.binding_hash},
                )
            ).seq
            session.add(campaign)
            await refresh_card(session, rt, campaign)
    except IntegrityError:
        return Message(text=m.ALREADY_DECIDED)
    rt.wake_outbox()
    return Message(text=m.campaign_decided(campaign.id, "denied", seq))


async def _expire(rt: Runtime, campaign: Campaign, clicker: Person) -> Message:
    async with writing(rt.sessions) as session:
        if await store.move(
            session, rt, campaign.id, expect=(S.PLANNED,), state=S.EXPIRED.value,
            detail=m.ACTION_APPROVAL_EXPIRED, finished_at=rt.clock(),
        ):  # fmt: skip
            campaign.state, campaign.detail = S.EXPIRED.value, m.ACTION_APPROVAL_EXPIRED
            await store.audit(
                session, rt, campaign, actor=actor_of(clicker), action=v.CAMPAIGN_DECIDED,
                outcome=v.EXPIRED,
            )  # fmt: skip
            session.add(campaign)
            await refresh_card(session, rt, campaign)
    rt.wake_outbox()
    return Message(text=m.campaign_expired(campaign.id))


LISTED = 15


async def listing(rt: Runtime) -> Message:
    async with rt.sessions() as session:
        rows = list(
            await session.scalars(
                select(Campaign).order_by(Campaign.created_at.desc()).limit(LISTED)
            )
        )
        lines = []
        for c in rows:
            n = await store.counts(session, c.id)
            lines.append(
                m.campaign_list_line(c.id, c.action, c.selector, c.state, n.ended, n.total)
            )
    return Message(text="\n".join(lines) if lines else m.CAMPAIGN_NONE)


async def status(rt: Runtime, campaign_id: str) -> Message:
    async with rt.sessions() as session:
        campaign = await store.get(session, campaign_id)
        if campaign is None:
            return Message(text=m.campaign_unknown(campaign_id))
        facts = await store.card_facts(session, campaign.id)
    return card.render(campaign, facts, rt.clock())
