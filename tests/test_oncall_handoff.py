"""Handoff summaries: figures from the audit log, posted once per shift, late when missed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.audit import vocabulary as v
from bot.audit.actors import AUTOMATION, Actor
from bot.audit.hash_chain import KeyRing
from bot.audit.writer import append
from bot.oncall.handoff_posting import post_handoff
from bot.oncall.summary import collect_facts
from tests.harness import BotHarness

ROTATION = {
    "name": "db-primary",
    "channel": "C0ONCALL1",
    "members": ["UALICE01", "UBOB0002"],
    "timezone": "Europe/Berlin",
    "handoffs": ["09:00", "21:00"],
    "start": "2026-01-01",
}
SHIFT_START = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # 09:00 CET
HANDOFF = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)  # 21:00 CET


async def seed(h: BotHarness) -> None:
    """A shift's worth of events, written through the real audit API at given times."""
    alice, bob = Actor.slack("UALICE01", "alice"), Actor.slack("UBOB0002", "bob")
    dave = Actor.slack("UDAVE004", "dave")
    key = KeyRing.from_config(h.config.audit)
    events: list[tuple[int, Actor, str, str, str, str | None, dict[str, Any]]] = [
        (
            60,
            AUTOMATION,
            v.INCIDENT_OPENED,
            "PostgresReplicationLag pg-orders",
            "opened",
            "inc-1",
            {},
        ),
        (70, alice, v.INCIDENT_ACKNOWLEDGED, "inc-1", "acknowledged", "inc-1", {}),
        (100, alice, v.INCIDENT_RESOLVED, "inc-1", "resolved", "inc-1", {}),
        (
            120,
            AUTOMATION,
            v.INCIDENT_OPENED,
            "PostgresReplicationLag pg-orders",
            "opened",
            "inc-2",
            {},
        ),
        (150, bob, v.INCIDENT_ACKNOWLEDGED, "inc-2", "acknowledged", "inc-2", {}),
        (
            200,
            AUTOMATION,
            v.INCIDENT_OPENED,
            "RedisMemoryHigh redis-sessions",
            "opened",
            "inc-3",
            {},
        ),
        (210, alice, v.OPERATION_FINISHED, "switchover pg-orders", v.SUCCEEDED, "op-1", {}),
        (220, bob, v.APPROVAL_DECIDED, "switchover pg-orders", v.APPROVED, "req-1", {}),
        # A request the chain denied (bot.actions.flow.deny_request writes `applied`) ...
        (
            230,
            bob,
            v.GUARD_DECIDED,
            "failover pg-billing",
            v.DENIED,
            "req-2",
            {"stage": "submit", "decided_by": "freeze", "applied": True},
        ),
        # ... and an Approve click the chain refused (the clicker may not approve): the
        # request stays open, so it is no denial (bot.actions.approval_decision._refuse).
        (
            232,
            dave,
            v.GUARD_DECIDED,
            "switchover pg-orders",
            v.DENIED,
            "req-1",
            {"stage": "approve", "decided_by": "approver"},
        ),
        # A denial that lost its move changed nothing.
        (
            233,
            bob,
            v.GUARD_DECIDED,
            "switchover pg-orders",
            v.DENIED,
            "req-1",
            {"stage": "approve", "decided_by": "lock", "applied": False},
        ),
        (240, AUTOMATION, v.OPERATION_FINISHED, "reinit pg-orders-2", v.SUCCEEDED, "op-2", {}),
        # Automation's own verdict: fixed (post-check passed) ...
        (241, AUTOMATION, v.AUTOMATION_DECIDED, "pg-orders", v.SUCCEEDED, "inc-1", {}),
        # ... and not fixed: the operation "succeeded", the post-check did not pass.
        (242, AUTOMATION, v.OPERATION_FINISHED, "reinit pg-orders-3", v.SUCCEEDED, "op-4", {}),
        (243, AUTOMATION, v.AUTOMATION_DECIDED, "pg-orders", v.FAILED, "inc-2", {}),
        (250, alice, v.OPERATION_FINISHED, "restart redis-sessions", v.FAILED, "op-3", {}),
        (260, alice, v.SILENCE_CREATED, "redis-sessions", "created", "sil-1", {}),
        (270, bob, "incident.noted", "inc-2", "noted", "inc-2", {"text": "lag came back at 14:10"}),
        (-30, alice, v.OPERATION_FINISHED, "restart before the shift", v.SUCCEEDED, "op-0", {}),
    ]
    async with h.bot.runtime.sessions() as session, session.begin():
        for minutes, actor, action, target, outcome, ref, params in sorted(
            events, key=lambda e: e[0]
        ):
            at = SHIFT_START + timedelta(minutes=minutes)
            await append(
                session,
                key=key,
                actor=actor,
                action=action,
                target=target,
                params=params,
                outcome=outcome,
                ref=ref,
                clock=lambda at=at: at,
            )


async def test_summary_figures_come_from_the_audit_log(db_url: str) -> None:
    async with BotHarness(db_url, oncall={"rotations": [ROTATION]}) as h:
        await seed(h)
        async with h.bot.runtime.sessions() as session:
            facts = await collect_facts(session, SHIFT_START, HANDOFF)
    assert len(facts.opened) == 3
    assert len(facts.resolved) == 1
    assert facts.median_time_to_ack == timedelta(minutes=20)  # 10 and 30 minutes
    assert facts.median_time_to_resolve == timedelta(minutes=40)
    assert facts.noisiest[0] == ("PostgresReplicationLag pg-orders", 2)
    assert [e.target for e in facts.actions] == [
        "switchover pg-orders", "reinit pg-orders-2", "reinit pg-orders-3",
        "restart redis-sessions",
    ]  # fmt: skip
    assert facts.fixed_without_a_human == 1
    assert [e.target for e in facts.failed] == ["restart redis-sessions"]
    assert [e.target for e in facts.denied] == ["failover pg-billing"]
    assert [e.actor for e in facts.refused_clicks] == ["UDAVE004"]
    assert [e.outcome for e in facts.approvals] == [v.APPROVED]
    assert len(facts.silences) == 1
    assert len(facts.notes) == 1


async def test_the_handoff_is_posted_once_to_the_channel_and_the_incoming_engineer(
    db_url: str,
) -> None:
    async with BotHarness(db_url, oncall={"rotations": [ROTATION]}) as h:
        await seed(h)
        rotation = h.config.oncall.rotations[0]
        now = HANDOFF + timedelta(minutes=1)
        # Two replicas' schedulers overlapping at the shift change.
        posted = await asyncio.gather(
            *(post_handoff(h.bot.runtime, rotation, now) for _ in range(4))
        )
        assert sorted(posted) == [False, False, False, True]
        channel = await h.wait_for(lambda: h.state.messages("C0ONCALL1"))
        dm = await h.wait_for(lambda: h.state.messages("DBOB0002"))
        assert len(channel) == 1
        text = repr(channel[0].blocks)
        assert "<@UALICE01> hands over to <@UBOB0002>" in text
        assert "*Incidents opened*\\n3" in text
        assert "Median time to ack*\\n20m" in text
        assert "restart redis-sessions → *failed*" in text
        assert "lag came back at 14:10" in text
        denied = text.split("*Denied*", 1)[1].split("*", 1)[0]
        assert "pg-billing" in denied and "pg-orders" not in denied
        assert "<@UDAVE004> may not decide on switchover pg-orders" in text
        assert "posted late" not in text
        assert dm[0].text == channel[0].text
        # Posting again later in the shift does nothing more.
        assert await post_handoff(h.bot.runtime, rotation, now + timedelta(hours=2)) is False


async def test_a_missed_handoff_is_posted_late(db_url: str) -> None:
    async with BotHarness(db_url, oncall={"rotations": [ROTATION]}) as h:
        rotation = h.config.oncall.rotations[0]
        assert await post_handoff(h.bot.runtime, rotation, HANDOFF + timedelta(hours=3))
        posted = await h.wait_for(lambda: h.state.messages("C0ONCALL1"))
        assert "posted late" in repr(posted[0].blocks)
        assert "A quiet shift" in repr(posted[0].blocks)


async def test_oncall_who_and_override(db_url: str) -> None:
    async with BotHarness(db_url, oncall={"rotations": [ROTATION]}) as h:
        await h.command("alice", "/oncall who")
        first = await h.wait_for_response("alice")
        assert "is on call until" in first.text
        await h.command("carol", "/oncall override @UCAROL03 2h")
        refused = await h.wait_for_response("carol")
        assert "oncall.override" in refused.text  # carol holds no role that may
        await h.command("bob", "/oncall override <@UCAROL03|carol> 2h -- swapping for the dentist")
        done = await h.wait_for_response("bob")
        assert done.text.startswith("<@UCAROL03> is on call for `db-primary` until")
        await h.command("alice", "/oncall who")
        after = await h.wait_for_response("alice", count=2)
        assert after.text.startswith("*db-primary*: <@UCAROL03> is on call")
        await h.command("bob", "/oncall override @UCAROL03 tomorrow")
        assert "Give the end as a duration" in (await h.wait_for_response("bob", count=2)).text


async def test_an_override_reply_and_who_name_the_end_of_the_override(db_url: str) -> None:
    # 11:00 in Berlin: the shift runs to 21:00, the override only to 13:00.
    now = SHIFT_START + timedelta(hours=2)
    async with BotHarness(db_url, clock=lambda: now, oncall={"rotations": [ROTATION]}) as h:
        await h.command("bob", "/oncall override @UCAROL03 2h")
        done = await h.wait_for_response("bob")
        assert done.text == "<@UCAROL03> is on call for `db-primary` until Thu 26 Nov 13:00 CET."
        await h.command("alice", "/oncall who")
        who = await h.wait_for_response("alice")
        assert who.text.startswith(
            "*db-primary*: <@UCAROL03> is on call until Thu 26 Nov 13:00 CET; next"
        )
        assert "21:00" not in who.text.split("; next")[0]
