"""Overload: past `server.max_in_flight` Slack requests still at work, a slash command is
answered "busy" in its ack and never run; clicks still run (an Approve is never lost),
and commands run again as soon as there is room."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tests.harness import USERS, BotHarness


@asynccontextmanager
async def work_in_flight(h: BotHarness) -> AsyncIterator[None]:
    """One Slack request's work that does not finish until the block ends."""
    started, release = asyncio.Event(), asyncio.Event()

    async def held() -> None:
        with h.bot.runtime.in_flight.held():
            started.set()
            await release.wait()

    task = asyncio.create_task(held())
    await started.wait()
    try:
        yield
    finally:
        release.set()
        await task


def turned_away(h: BotHarness) -> float:
    value = h.bot.runtime.metrics.registry.get_sample_value(
        "watchkeeper_commands_turned_away_total"
    )
    return value or 0.0


async def test_a_command_past_the_limit_is_answered_busy_and_not_run(db_url: str) -> None:
    async with BotHarness(db_url, server={"max_in_flight": 1}) as h:
        async with work_in_flight(h):
            answer = await h.command("alice", "/fleet status pg-orders")
            # Slack shows a plain-text ack body to the user who typed the command.
            assert answer.status_code == 200
            assert "overloaded right now and did not run your `/fleet`" in answer.text
            assert turned_away(h) == 1
            # A click still runs while full: a stale button gets its usual answer.
            await h.click("bob", {"action_id": "no-such-button", "text": {"text": "x"}})
            stale = await h.wait_for_response("bob")
            assert "no longer does anything" in stale.text

        # Room again: the next command runs, and it is the only answer alice ever gets.
        again = await h.command("alice", "/fleet status pg-orders")
        assert again.content == b""
        card = await h.wait_for_response("alice")
        assert card.text.startswith("pg-orders: ")
        assert [r for r in h.state.responses() if r.user == USERS["alice"]] == [card]
        assert turned_away(h) == 1
