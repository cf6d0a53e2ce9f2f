"""Bounded auto-remediation through the whole bot: a replica-lag page fixed by a runbook
without waking anyone, the kill switch, dry runs and what automation only suggests.
The limits are in test_automation_limits.py, escalation in test_automation_escalation.py."""

from __future__ import annotations

from datetime import timedelta

from bot.audit.hash_chain import KeyRing
from bot.audit.verifier import verify
from bot.oncall.summary import collect_facts
from tests.actions_support import FleetUnderTest
from tests.automation_support import (
    ONCALL,
    automation_harness,
    decisions,
    finished,
    lagging_page,
    limited_to,
    params_of,
    runbook,
    settle,
    thread_messages,
    thread_texts,
)
from tests.conftest import shipped_permissions
from tests.harness import BotHarness, find_button
from tests.incident_helpers import audit_rows


async def test_a_replica_lag_page_is_fixed_without_waking_anyone(db_url: str) -> None:
    async with FleetUnderTest() as fleet, automation_harness(db_url, fleet) as h:
        rt = h.bot.runtime
        await lagging_page(fleet, rt)
        (run,) = await settle(h, finished(1))
        assert run.state == "succeeded" and run.request_id is not None
        texts = await thread_texts(h, "Fixed without waking anyone")
        said = "\n".join(texts)
        assert "Runbook *replica-lag* matched `PostgresReplicationLag`" in said
        assert "`reinit pg-orders member=pg-orders-3`" in said
        assert "post-check passed" in said
        assert "Automation is on" in said  # the kill switch's state on every message
        assert not any(who in said for who in ONCALL)  # nobody was woken
        (op,) = fleet.sim.operations()
        assert (op.action, op.actor, op.state) == ("reinit", "watchkeeper:automation", "succeeded")
        member = next(m for m in fleet.sim.service("pg-orders").members if m.name == "pg-orders-3")
        assert member.lag_bytes == 0
        # The same road as a person: the guard chain, the operation rows, the post-check.
        ran = [(r.actor, r.action, r.outcome) for r in await audit_rows(rt, "operation.finished")]
        assert ran == [("watchkeeper:automation", "operation.finished", "succeeded")]
        checks = await audit_rows(rt, "operation.post_check")
        assert [c.outcome for c in checks] == ["succeeded"]
        assert [(d.outcome, params_of(d)["runbook"]) for d in await decisions(rt)] == [
            ("accepted", "replica-lag"),
            ("succeeded", "replica-lag"),
        ]
        now = rt.clock()
        async with rt.sessions() as session:
            facts = await collect_facts(session, now - timedelta(hours=1), now + timedelta(1))
        assert facts.fixed_without_a_human == 1
        async with rt.engine.connect() as conn:
            assert (await verify(conn, KeyRing.from_config(h.config.audit))).ok


async def test_the_kill_switch_pauses_every_runbook_and_says_so(db_url: str) -> None:
    async with FleetUnderTest() as fleet, automation_harness(db_url, fleet) as h:
        rt = h.bot.runtime
        await h.command("erin", "/fleet automation pause")
        # No role: the permission step refuses before the switch is touched.
        assert "automation.pause" in (await h.wait_for_response("erin")).text
        await h.command("alice", "/fleet automation pause -- database maintenance")
        answer = await h.wait_for_response("alice")
        assert "Automation paused everywhere" in answer.text
        await lagging_page(fleet, rt)
        (run,) = await settle(h, limited_to(1))
        assert run.state == "paused" and fleet.calls["start"] == 0
        texts = await thread_texts(h, "automation could not handle this")
        assert all("Automation is *paused* (by <@UALICE01>" in t for t in texts)
        (switched,) = await audit_rows(rt, "automation.switched")
        assert (switched.actor, switched.outcome) == ("UALICE01", "paused")
        assert params_of(switched)["reason"] == "database maintenance"
        await h.command("bob", "/fleet automation status")
        assert "paused" in (await h.wait_for_response("bob")).text
        await h.command("alice", "/fleet automation resume")
        await h.wait_for_response("alice", 2)
        await lagging_page(fleet, rt)
        found = await settle(h, limited_to(2))
        assert found[1].state in ("running", "succeeded")
        assert [s.outcome for s in await audit_rows(rt, "automation.switched")] == [
            "paused", "resumed"
        ]  # fmt: skip


async def test_the_permissions_rule_alone_decides_who_flips_the_switch(db_url: str) -> None:
    # No second, older list of switch roles: whom the verb rule lets through may switch.
    rules = {
        **shipped_permissions(),
        "automation.pause": ["anyone"],
        "automation.resume": ["auditor"],
    }
    async with BotHarness(db_url, permissions=rules) as h:
        await h.command("erin", "/fleet automation pause -- no role, but the rule says anyone")
        assert "Automation paused everywhere" in (await h.wait_for_response("erin")).text
        await h.command("alice", "/fleet automation resume")
        refused = (await h.wait_for_response("alice")).text
        assert "automation.resume" in refused and "resumed" not in refused
        await h.command("carol", "/fleet automation resume")
        assert "Automation resumed" in (await h.wait_for_response("carol")).text
        switched = await audit_rows(h.bot.runtime, "automation.switched")
        assert [(s.actor, s.outcome) for s in switched] == [
            ("UERIN005", "paused"), ("UCAROL03", "resumed")
        ]  # fmt: skip


async def test_a_dry_run_reaches_nothing_of_the_fleet_and_records_what_would_run(
    db_url: str,
) -> None:
    async with (
        FleetUnderTest() as fleet,
        automation_harness(db_url, fleet, runbooks=[runbook(mode="dry-run")]) as h,
    ):
        rt = h.bot.runtime
        await lagging_page(fleet, rt)
        (run,) = await settle(h, limited_to(1))
        assert run.state == "dry_run"
        assert fleet.calls == {} and fleet.sim.operations() == []
        (decided,) = await decisions(rt)
        assert decided.outcome == "dry_run"
        would = params_of(decided)["would_run"]
        assert (would["action"], would["target"], would["params"]) == (
            "reinit", "pg-orders", {"member": "pg-orders-3"}
        )  # fmt: skip
        texts = await thread_texts(h, "Dry run of runbook")
        assert any("the guards checked so far allow it" in t for t in texts)


async def test_an_action_that_needs_approval_is_only_suggested(db_url: str) -> None:
    rules = [{"actions": ["reinit"], "roles": ["responder", "automation"],
              "approval": {"roles": ["responder"]}}]  # fmt: skip
    async with FleetUnderTest() as fleet, automation_harness(db_url, fleet, rules=rules) as h:
        rt = h.bot.runtime
        await lagging_page(fleet, rt)
        (run,) = await settle(h, limited_to(1))
        assert run.state == "suggested" and fleet.calls["start"] == 0
        await thread_texts(h, "suggests `reinit` on `pg-orders`")
        suggestion = next(m for m in thread_messages(h) if "suggests" in m.text)
        button = find_button(suggestion.blocks, "Reinit pg-orders-3")
        assert button["action_id"].startswith("incident:act:")
        # The incident opened quietly, counting on automation: now a person must click.
        escalated = await thread_texts(h, "automation could not handle this")
        assert any(who in "\n".join(escalated) for who in ONCALL)
        denied = await audit_rows(rt, "guard.decided")
        assert params_of(denied[-1])["decided_by"] == "unattended"
