"""Pause, Resume and Abort: from the card's buttons or `/fleet campaign pause|resume|abort
<id>`, for the roles `campaigns.control_roles` names (default: who may start or approve).

- Pause: no new target starts; running ones finish. Resume goes on where it stopped.
- Abort: the same, for good: running targets finish (their outcome is still recorded),
  pending ones never start.
- Resume after a halt: the halt's cause is taken as understood. Failures so far no
  longer count against `max_errors`, and pages stored before the resume no longer halt
  it (the bake watches from the resume on). The kill switch must be off first.
"""

from __future__ import annotations

from bot import messages as m
from bot.actions.guard_chain import Person
from bot.audit import vocabulary as v
from bot.campaigns import store
from bot.campaigns.models import CampaignState
from bot.campaigns.service import actor_of, may, refresh_card
from bot.db.unit_of_work import writing
from bot.outbox import Message
from bot.runtime import Runtime

S = CampaignState
MOVES: dict[str, tuple[tuple[CampaignState, ...], CampaignState, str, str]] = {
    "pause": ((S.RUNNING,), S.PAUSED, v.PAUSED, "paused"),
    "resume": ((S.PAUSED, S.HALTED), S.RUNNING, v.RESUMED, "resumed"),
    "abort": ((S.RUNNING, S.PAUSED, S.HALTED), S.ABORTED, v.ABORTED, "aborted"),
}


async def steer(rt: Runtime, campaign_id: str, person: Person, verb: str) -> Message:
    expect, to, outcome, said = MOVES[verb]
    roles = rt.config.campaigns.steering_roles()
    async with writing(rt.sessions) as session:
        campaign = await store.get(session, campaign_id)
        if campaign is None:
            return Message(text=m.campaign_unknown(campaign_id))
        if not may(rt, person.id, roles):
            await store.audit(
                session, rt, campaign, actor=actor_of(person), action=v.CAMPAIGN_STEERED,
                outcome=v.DENIED, params={"asked": verb},
            )  # fmt: skip
            return Message(text=m.campaign_not_permitted(verb, roles))
        values: dict[str, object] = {"state": to.value}
        if verb == "resume":
            n = await store.counts(session, campaign.id)
            values.update(errors_forgiven=n.failed, wave_started_at=rt.clock(), detail=None)
        if verb == "abort":
            values.update(finished_at=rt.clock())
        if not await store.move(session, rt, campaign.id, expect=expect, **values):
            return Message(text=m.campaign_state_is(campaign.id, campaign.state))
        for key, value in values.items():
            setattr(campaign, key, value)
        seq = (
            await store.audit(
                session,
                rt,
                campaign,
                actor=actor_of(person),
                action=v.CAMPAIGN_STEERED,
                outcome=outcome,
                params={"wave": campaign.wave + 1},
            )
        ).seq
        text = m.campaign_steered(campaign.id, said, person.id, seq)
        store.in_thread(session, rt, campaign, Message(text=text))
        await refresh_card(session, rt, campaign)
    rt.wake_outbox()
    return Message(text=text)
