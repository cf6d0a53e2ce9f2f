"""What outlives a shift, in the handoff summary: locks held, silences still active and
maintenance ahead, each contributed by its own area and read from seeded rows."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from bot.actions.models import ActionRequest, ResourceLock
from bot.incidents.models import Silence
from bot.oncall.handoff_posting import post_handoff
from bot.oncall.summary import collect_facts
from tests.harness import BotHarness
from tests.test_oncall_handoff import HANDOFF, ROTATION, SHIFT_START


def at(hours: float) -> datetime:
    """`hours` after the handoff (negative: before)."""
    return HANDOFF + timedelta(hours=hours)


def lock(resource: str, owner: str, action: str, since: float, until: float) -> ResourceLock:
    return ResourceLock(
        resource=resource, request_id=f"req-{resource}", owner_id=owner, owner_name=owner,
        action=action, since=at(since), expires_at=at(until),
    )  # fmt: skip


def silence(ends: float, state: str, incident: int | None, external: str | None) -> Silence:
    return Silence(
        incident_id=incident, external_id=external,
        matchers=json.dumps({"alertname": "DiskFull", "service": "pg-orders"}),
        starts_at=at(-3), ends_at=at(ends), created_by="UBOB0002", comment="disk", state=state,
    )  # fmt: skip


def request(
    rid: str, action: str, target: str, state: str, created: float, **params: Any
) -> ActionRequest:
    return ActionRequest(
        id=rid, idempotency_key=rid, params_hash="0" * 64, action=action, target=target,
        params=json.dumps(params, sort_keys=True), reason=None, requester_id="UALICE01",
        requester_name="alice", channel_id="C0DEMO001", thread_ts=None, state=state,
        risk="low", created_at=at(created), updated_at=at(created),
    )  # fmt: skip


def seed_rows() -> list[Any]:
    return [
        lock("pg-orders", "UALICE01", "switchover", -0.5, 0.4),
        lock("redis-cache", "UBOB0002", "restart", -2, -0.2),  # lapsed before the handoff
        silence(2, "active", 7, None),
        silence(-1, "active", 8, None),  # ran out before the handoff, not yet swept
        silence(3, "lifted", 9, None),  # ended early by someone
        silence(26, "active", None, "am-123"),
        # Scheduled: the newer schedule of pg-orders replaces the older one.
        request("m1", "maintenance", "pg-orders", "succeeded", -5, mode="schedule",
                at="2026-11-27T02:00:00+00:00"),
        request("m2", "maintenance", "pg-orders", "succeeded", -4, mode="schedule",
                at="2026-11-28T02:00:00+00:00"),
        request("m3", "maintenance", "redis-sessions", "succeeded", -6, mode="schedule",
                at="2026-11-26T18:00:00+00:00"),  # already past at the handoff
        request("m4", "maintenance", "kafka-1", "approved", -0.2, mode="run"),
        request("m5", "maintenance", "pg-billing", "confirmed", -1, mode="schedule",
                at="2026-11-30T03:00:00+00:00"),
        request("m6", "maintenance", "pg-x", "failed", -1, mode="run"),
        request("m7", "restart", "pg-orders", "executing", -0.1),
    ]  # fmt: skip


async def test_locks_silences_and_maintenance_outlive_the_shift(db_url: str) -> None:
    async with BotHarness(db_url, oncall={"rotations": [ROTATION]}) as h:
        async with h.bot.runtime.sessions() as session, session.begin():
            session.add_all(seed_rows())
        async with h.bot.runtime.sessions() as session:
            facts = await collect_facts(
                session, SHIFT_START, HANDOFF, h.bot.runtime.hooks.handoff_sections
            )
        live = dict(facts.live)
        assert "Open incidents" not in " ".join(live)  # none seeded: that part stays away
        assert live["Locks held (1)"] == [
            "`pg-orders`: switchover by <@UALICE01> since 2026-11-26 19:30 UTC, "
            "lease until 2026-11-26 20:24 UTC"
        ]
        silences = live["Silences past the handoff (2)"]
        assert [line.split(" on ")[0] for line in silences] == [
            ":no_bell: silence 1 by <@UBOB0002>",
            ":no_bell: silence 4 by <@UBOB0002>",
        ]
        assert silences[0].endswith("2026-11-26 22:00 UTC> · incident #7")
        assert silences[1].endswith("· Alertmanager `am-123`")
        assert live["Maintenance ahead (3)"] == [
            "`pg-orders` at 2026-11-28 02:00 UTC, scheduled by <@UALICE01>",
            "`pg-billing` at 2026-11-30 03:00 UTC, asked by <@UALICE01>: waiting for approval",
            "`kafka-1` now, asked by <@UALICE01>: approved, about to start",
        ]
        # The same parts, in the summary posted at the shift change.
        assert await post_handoff(h.bot.runtime, h.config.oncall.rotations[0], at(0.1))
        posted = await h.wait_for(lambda: h.state.messages("C0ONCALL1"))
        text = repr(posted[0].blocks)
        for title in (
            "*Locks held (1)*",
            "*Silences past the handoff (2)*",
            "*Maintenance ahead (3)*",
        ):
            assert title in text
        assert "A quiet shift" not in text


async def test_nothing_outliving_the_shift_adds_no_section(db_url: str) -> None:
    async with BotHarness(db_url, oncall={"rotations": [ROTATION]}) as h:
        async with h.bot.runtime.sessions() as session, session.begin():
            session.add_all(
                [
                    lock("redis-cache", "UBOB0002", "restart", -2, -0.2),
                    silence(-1, "active", 8, None),
                    request("m6", "maintenance", "pg-x", "failed", -1, mode="run"),
                ]
            )
        async with h.bot.runtime.sessions() as session:
            facts = await collect_facts(
                session, SHIFT_START, HANDOFF, h.bot.runtime.hooks.handoff_sections
            )
        assert facts.live == []
