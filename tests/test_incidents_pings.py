"""A page pings the on-call where Slack shows it, once: the mentions are a context block at
the top of the incident's root (not only in its fallback text), every later change edits
that root in place (chat.update notifies nobody again), and an escalation is a new reply
whose own blocks carry the mentions (docs/incidents.md, "Who is paged")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.incidents.escalation import escalate_due
from standins.slack.models import Event
from tests.incident_helpers import Clock, replies, roots
from tests.paging_support import CHANNEL, NOW, deliver, paged_bot

PAGED = ":rotating_light: Paging <!subteam^S0DBA0001> <@UBOB0002>"


def pinging(events: list[Event]) -> list[Event]:
    """Feed entries that would notify the paged people: new messages (not edits) that
    mention the on-call or the route's group. (A reply naming whoever acted, such as
    "@alice acknowledged", names the actor, not the paged.)"""
    paged = ("<@UBOB0002>", "<!subteam^S0DBA0001>")
    return [e for e in events if e.kind == "message" and any(p in repr(e.data) for p in paged)]


def first_block(blocks: list[dict[str, Any]]) -> str:
    assert blocks[0]["type"] == "context"
    return str(blocks[0]["elements"][0]["text"])


async def test_a_page_pings_the_on_call_visibly_and_updates_never_ping_again(db_url: str) -> None:
    clock = Clock(NOW)
    async with paged_bot(db_url, clock) as h:
        await deliver(h, "firing-single")
        await h.quiet()
        [root] = roots(h.state, CHANNEL)
        # Shown in the root's blocks, at the top: the route's group and the on-call.
        assert first_block(root.blocks) == PAGED
        assert [e.ts for e in pinging(h.state.events(channel=CHANNEL))] == [root.ts]
        seen = h.state.last_event_seq

        # The same alert again, then resolved: the root is edited, the thread gets lines.
        await deliver(h, "firing-single")
        await deliver(h, "resolved-group")
        await h.command("alice", "/incident ack 1", channel=CHANNEL)
        await h.quiet()
        later = h.state.events(since=seen, channel=CHANNEL)
        assert any(e.kind == "edit" and e.ts == root.ts for e in later)
        assert pinging(later) == []
        [root] = roots(h.state, CHANNEL)
        assert first_block(root.blocks) == PAGED  # still shown, never sent again


async def test_an_escalation_pings_in_its_own_blocks(db_url: str) -> None:
    clock = Clock(NOW)
    async with paged_bot(db_url, clock) as h:
        await deliver(h, "firing-single")
        await h.quiet()
        seen = h.state.last_event_seq
        clock.advance(minutes=11)
        assert await escalate_due(h.bot.runtime) == 1
        await h.quiet()
        [root] = roots(h.state, CHANNEL)
        escalation = replies(h.state, root)[-1]
        assert first_block(escalation.blocks) == PAGED
        assert "still unacknowledged after 11 min" in repr(escalation.blocks)
        assert [e.ts for e in pinging(h.state.events(since=seen))] == [escalation.ts]
        assert clock() - NOW == timedelta(minutes=11)
