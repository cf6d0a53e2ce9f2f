"""Slack down for ten (simulated) minutes, four ways: unreachable, 5xx, 429 with
Retry-After, hanging. Meanwhile pages are accepted and open incidents, a guarded action is
denied and another confirmed, run and audited; once Slack is back every queued message is
delivered exactly once, in order per channel and thread.

Time is simulated: the bot, its outbox and the stand-in share one clock the test moves,
waking the outbox worker at each step, so ten minutes take a few seconds. The four ways
run on PostgreSQL, the production store; one runs on the embedded SQLite store too (the
outbox's own tests cover both stores for shorter outages)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select

from bot.actions.models import ActionRequest
from bot.audit.models import AuditEntry
from standins.loopback import LoopbackServer
from standins.slack import StandInState, start_standin
from tests.actions_support import PERMISSIONS, ROLES, policies
from tests.fault_support import (
    SimulatedTime,
    alertmanager_delivery,
    audit_chain_verifies,
    delivery_report,
    queued_blocks,
    send_page,
)
from tests.harness import CHANNEL, USERS, BotHarness, find_button
from tests.incident_helpers import incidents
from tests.intake_helpers import intake_section

OUTAGE = 600.0  # ten minutes
SERVICES = ["pg-orders", "pg-billing", "redis-cache"]
FAULTS = ["unreachable", "error_5xx", "rate_limit", "hang"]
T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T | None]], within: float = 15.0) -> T:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within}s")


class Outage:
    """Slack unwell in one way until `end()`; `unreachable` stops the stand-in's server."""

    def __init__(self, h: BotHarness, mode: str) -> None:
        self._h, self.mode = h, mode
        self.revived: LoopbackServer | None = None

    async def begin(self) -> None:
        if self.mode == "unreachable":
            await self._h.standin.stop()
        elif self.mode == "rate_limit":
            self._h.state.set_fault("rate_limit", retry_after=30)
        else:
            self._h.state.set_fault(self.mode, status=503)  # type: ignore[arg-type]

    async def end(self) -> None:
        if self.mode == "unreachable":
            self.revived, _ = await start_standin(port=self._h.standin.port, state=self._h.state)
        else:
            self._h.state.clear_fault()


def slack_section() -> dict[str, Any]:
    # A short call timeout: a hanging Slack costs the worker this much per attempt.
    return {"signing_secret": "test-signing-secret", "bot_token": "xoxb-test",
            "timeout_seconds": 0.15}  # fmt: skip


async def state_of(h: BotHarness, user: str, among: tuple[str, ...] = ()) -> str | None:
    """The state of `user`'s one request (None while absent, or not yet one of `among`)."""
    async with h.bot.runtime.sessions() as session:
        found = await session.scalar(
            select(ActionRequest.state).where(ActionRequest.requester_id == USERS[user])
        )
    return found if found and (not among or found in among) else None


async def audit_of(h: BotHarness, user: str) -> list[tuple[str, str]]:
    async with h.bot.runtime.sessions() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.actor == USERS[user]).order_by(AuditEntry.seq)
        )
        return [(r.action, r.outcome) for r in rows]


async def guarded_actions_during_the_outage(h: BotHarness) -> None:
    """erin (no role) is refused; alice confirms a pause from the preview still queued
    for her, and it runs to the end on the fleet."""
    await h.command("erin", "/fleet pause pg-billing")
    assert await eventually(lambda: state_of(h, "erin", ("denied", "needs_confirmation")))
    assert await state_of(h, "erin") == "denied"
    await h.command("alice", "/fleet pause pg-orders")
    blocks = await eventually(lambda: queued_blocks(h, USERS["alice"]))
    await h.click("alice", find_button(blocks, "Confirm"), ephemeral=True)
    await eventually(lambda: state_of(h, "alice", ("succeeded", "failed")), within=30)
    assert await state_of(h, "alice") == "succeeded"
    assert ("guard.decided", "denied") in await audit_of(h, "erin")
    trail = await audit_of(h, "alice")
    for step in [("confirmation", "confirmed"), ("operation.started", "accepted"),
                 ("operation.finished", "succeeded")]:  # fmt: skip
        assert step in trail, trail


@pytest.mark.parametrize("fault", FAULTS)
async def test_ten_minutes_without_slack_delay_messages_but_lose_and_double_none(
    pg_url: str, fault: str
) -> None:
    await outage_scenario(pg_url, fault)


async def test_the_same_on_the_embedded_sqlite_store(tmp_path: Path) -> None:
    await outage_scenario(f"sqlite+aiosqlite:///{tmp_path}/watchkeeper.db", "error_5xx")


async def outage_scenario(db_url: str, fault: str) -> None:
    time = SimulatedTime()
    async with BotHarness(
        db_url,
        clock=time.now,
        interval=1.0,
        standin=StandInState(clock=time.seconds),
        roles=ROLES,
        policies=policies(),
        permissions=PERMISSIONS,
        intake=intake_section(),
        slack=slack_section(),
    ) as h:
        outage = Outage(h, fault)
        await outage.begin()
        try:
            for service in SERVICES:
                answer = await send_page(h.url, alertmanager_delivery(service))
                assert answer.status_code == 200, answer.text
            assert sorted(i.service or "" for i in await incidents(h.bot.runtime)) == sorted(
                SERVICES
            )
            await guarded_actions_during_the_outage(h)
            await time.run(h, OUTAGE, step=60.0)
            assert [c for c in h.state.calls() if c.status == 200 and c.method != "auth.test"] == []
            await outage.end()
            drained = await time.drain(h, pace=1.0, limit=OUTAGE)
        finally:
            if outage.revived is not None:
                await outage.revived.stop()
        report = await delivery_report(h)
        print(f"\n[slack {fault}] {report} drained in {drained:.0f}s after the outage")
        assert report.lost == 0 and report.duplicates == 0, report
        assert report.out_of_order_lanes == [], report
        assert report.delivered == report.queued and report.delayed == report.queued
        # Nothing waits longer than the outage, the worker's backoff ceiling and the pace.
        ceiling = h.config.outbox.max_backoff_seconds
        assert report.max_delay <= OUTAGE + ceiling + report.queued, report
        assert [m for m in h.state.messages(CHANNEL) if m.orphan] == []  # replies under roots
        assert await audit_chain_verifies(h) > 0
