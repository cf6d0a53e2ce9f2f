"""Live fleet state where it is shown, read as transcripts: an open root's "Fleet now" is
edited when the fleet changes (and only then), a resolved root shows the fleet as it was
at resolution with its time, and a finished action's card shows the service at the end
(docs/incidents.md, "Live state"; docs/actions.md)."""

from __future__ import annotations

from tests import actions_support
from tests.actions_support import card, sim_control, text_of
from tests.harness import BotHarness, find_button
from tests.incident_helpers import Clock, block_text, roots
from tests.paging_support import CHANNEL, NOW, deliver, paged_bot

# How Slack is asked to show NOW in each reader's own time zone.
DATED = f"<!date^{int(NOW.timestamp())}^"


def fleet_text(h: BotHarness) -> str:
    [root] = roots(h.state, CHANNEL)
    return next(line for line in block_text(root.blocks).splitlines() if "Fleet" in line)


async def tick(h: BotHarness, job: str) -> None:
    assert await h.bot.runtime.scheduler.renew()
    assert await h.bot.runtime.scheduler.run_now(job)


async def test_open_roots_follow_the_fleet_and_resolved_roots_keep_it_dated(db_url: str) -> None:
    clock = Clock(NOW)
    async with paged_bot(db_url, clock) as h:
        await deliver(h, "firing-single")  # PostgresPrimaryDown on pg-billing
        await h.quiet()
        assert fleet_text(h).startswith(f"*Fleet now* · {DATED}")
        assert "unhealthy" not in fleet_text(h)
        [root] = roots(h.state, CHANNEL)

        # Nothing changed: the watch edits nothing.
        edits = root.edits
        await tick(h, "incidents-fleet-watch")
        await h.quiet()
        assert roots(h.state, CHANNEL)[0].edits == edits

        # A member fails: the next watch shows it, once, however often it looks.
        await sim_control(h, "/_sim/degrade", {"service": "pg-billing", "healthy": False})
        await tick(h, "incidents-fleet-watch")
        await tick(h, "incidents-fleet-watch")
        await h.quiet()
        assert roots(h.state, CHANNEL)[0].edits == edits + 1
        assert "unhealthy" in fleet_text(h)

        clock.advance(minutes=5)
        await h.command("alice", "/incident resolve 1", channel=CHANNEL)
        resolved_at = f"<!date^{int(clock().timestamp())}^"
        await h.wait_for(lambda: "Fleet at resolution" in fleet_text(h))
        await h.quiet()
        assert fleet_text(h).startswith(f"*Fleet at resolution* · {resolved_at}")
        assert "unhealthy" in fleet_text(h)
        # Resolved: the watch leaves it as it was at resolution.
        await sim_control(h, "/_sim/degrade", {"service": "pg-billing", "healthy": True})
        await tick(h, "incidents-fleet-watch")
        await h.quiet()
        assert "unhealthy" in fleet_text(h)


async def test_a_finished_actions_card_shows_the_service_at_the_end(db_url: str) -> None:
    async with actions_support.harness(db_url) as h:
        await h.command("alice", "/fleet restart pg-billing member=pg-billing-1")
        preview = await h.wait_for_response("alice")
        await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
        announcement = await card(h, "restart pg-billing")
        done = await card(h, "Fleet at the end")
        assert done.ts == announcement.ts
        assert "<!date^" in text_of(done) and "healthy" in text_of(done)
