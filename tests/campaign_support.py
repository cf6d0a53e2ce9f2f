"""Shared pieces of the campaign tests: the bot with a campaign policy, the card, and
what the simulator's operation log says was run."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from bot.campaigns.models import Campaign, CampaignTarget
from standins.slack.models import Message
from tests.actions_support import (
    PERMISSIONS,
    ROLES,
    card,
    fleet_operations,
    policies,
    sim_control,
    text_of,
)
from tests.harness import CHANNEL, BotHarness, find_button
from tests.incident_helpers import batch, page

# Who may start and approve is the campaigns' own question: the permission step lets the
# verbs through to it (tests/test_permissions.py covers the step itself).
CAMPAIGN_PERMISSIONS = {**PERMISSIONS, "campaign.*": ["anyone"]}


def campaign_harness(db_url: str, **campaigns: Any) -> BotHarness:
    section: dict[str, Any] = {
        "start_roles": ["responder"],
        "approve_roles": ["responder"],
        "tick_seconds": 0.05,
        "card_every_seconds": 0,
        **campaigns,
    }
    return BotHarness(
        db_url,
        roles=ROLES,
        policies=policies(max_concurrent_operations=50),
        permissions=CAMPAIGN_PERMISSIONS,
        campaigns=section,
    )


async def the_campaign(h: BotHarness) -> Campaign:
    async with h.bot.runtime.sessions() as session:
        rows = list(await session.scalars(select(Campaign)))
    assert len(rows) == 1, rows
    return rows[0]


async def targets(h: BotHarness) -> list[CampaignTarget]:
    async with h.bot.runtime.sessions() as session:
        return list(await session.scalars(select(CampaignTarget).order_by(CampaignTarget.position)))


async def campaign_card(h: BotHarness) -> Message:
    return await card(h, "*Campaign `cmp-")


def card_now(h: BotHarness, root: Message) -> str:
    return text_of(h.state.find_message(CHANNEL, root.ts))


async def state_is(h: BotHarness, state: str, within: float = 30.0) -> Campaign:
    async def probe() -> Campaign | None:
        c = await the_campaign(h)
        return c if c.state == state else None

    return await h.eventually(probe, within=within)


async def acted_on(h: BotHarness) -> list[str]:
    """Services the simulator was asked to act on, one entry per operation."""
    return [op["target"] for op in await fleet_operations(h)]


def wave_rows(rows: list[Any]) -> list[tuple[str, int]]:
    return [(r.outcome, json.loads(r.params)["wave"]) for r in rows if r.action == "campaign.wave"]


async def plan_and_approve(
    h: BotHarness, line: str, *, fail_after: int | None = None
) -> tuple[Message, list[str]]:
    """alice plans `/fleet campaign <line>`, bob approves; with `fail_after`, every target
    after the first `fail_after` fails on the simulator (returned)."""
    await h.command("alice", f"/fleet campaign {line}")
    root = await campaign_card(h)
    failing: list[str] = []
    if fail_after is not None:
        names = [t.service for t in await targets(h) if t.position >= 0]
        failing = names[fail_after:]
        await sim_control(h, "/_sim/faults", {"fail_services": {"services": failing}})
    await h.click("bob", find_button(root.blocks, "Approve"), message_ts=root.ts)
    return root, failing


async def send_page(h: BotHarness, service: str) -> None:
    """A page about `service`, stored by the bot's intake as a webhook's would be."""
    rt = h.bot.runtime
    assert rt.hooks.page_sink is not None
    await rt.hooks.page_sink(rt, batch(page(f"bake-{service}", service=service)))
