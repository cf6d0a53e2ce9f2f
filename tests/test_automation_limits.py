"""Every limit that keeps automation from running away: runs per service per hour (with
escalation to the on-call and PagerDuty), runs at once, the capacity floor, failures in a
row, and pages caused by automation's own action."""

from __future__ import annotations

from standins.pagerduty import start_standin as start_pagerduty
from tests.actions_support import FleetUnderTest
from tests.automation_support import (
    ONCALL,
    automation_harness,
    decisions,
    finished,
    lagging_page,
    limited_to,
    said_times,
    settle,
    thread_texts,
)


async def test_the_hourly_limit_stops_runs_and_escalates_to_on_call_and_pagerduty(
    db_url: str,
) -> None:
    server, pd = await start_pagerduty()
    escalation = {"pagerduty": {"routing_key": "R0UTING0KEY0000000000000000000000",
                                "events_url": server.url}}  # fmt: skip
    try:
        async with FleetUnderTest() as fleet, automation_harness(
            db_url, fleet, limits={"runs_per_service_per_hour": 1},
            escalation=escalation,
        ) as h:  # fmt: skip
            rt = h.bot.runtime
            await lagging_page(fleet, rt)
            await lagging_page(fleet, rt)
            first, second = await settle(h, limited_to(2))
            assert first.state in ("running", "succeeded") and second.state == "limited"
            assert "runbook replica-lag: 1 runs on `pg-orders` in the last hour" in (
                second.detail or ""
            )
            texts = await thread_texts(h, "automation could not handle this")
            escalated = next(t for t in texts if "automation could not handle this" in t)
            assert any(who in escalated for who in ONCALL)  # the rotation's on-call
            assert fleet.calls["start"] == 1  # the limited one never reached the fleet
            await h.wait_for(lambda: pd.events, within=10)
            (event,) = pd.events
            assert (event.event_action, event.dedup_key) == ("trigger", "incident:1")
            assert [d.outcome for d in await decisions(rt)][:2] == ["accepted", "limited"]
    finally:
        await server.stop()


async def test_the_concurrency_limit_counts_runs_in_progress_fleet_wide(db_url: str) -> None:
    async with (
        FleetUnderTest() as fleet,
        automation_harness(db_url, fleet, automation={"limits": {"max_concurrent": 1}}) as h,
    ):
        rt = h.bot.runtime
        await lagging_page(fleet, rt, "pg-orders", "pg-orders-3")
        await lagging_page(fleet, rt, "pg-billing", "pg-billing-3")
        found = await settle(h, lambda runs: len(runs) == 2 and "starting" not in
                             {r.state for r in runs})  # fmt: skip
        # Both pages are decided at once; whichever came second found the slot taken.
        (held,) = [r for r in found if r.state in ("running", "succeeded")]
        (limited,) = [r for r in found if r.state == "limited"]
        assert held.service != limited.service
        assert "fleet-wide: 1 automation runs in progress, at most 1 at once" in (
            limited.detail or ""
        )
        assert fleet.calls["start"] == 1


async def test_the_capacity_floor_keeps_automation_from_taking_a_member(db_url: str) -> None:
    async with (
        FleetUnderTest() as fleet,
        automation_harness(db_url, fleet, limits={"min_healthy_members": 3}) as h,
    ):
        await lagging_page(fleet, h.bot.runtime)
        (run,) = await settle(h, limited_to(1))
        assert run.state == "limited"
        assert "`pg-orders` has 3 healthy members and automation keeps at least 3" in (
            run.detail or ""
        )
        assert fleet.calls["start"] == 0 and fleet.calls["plan"] == 0


async def test_failures_in_a_row_stop_the_runbook_until_a_person_resumes(db_url: str) -> None:
    async with (
        FleetUnderTest() as fleet,
        automation_harness(db_url, fleet, limits={"stop_after_failures": 2}) as h,
    ):
        rt = h.bot.runtime
        for n in (1, 2):
            fleet.sim.faults.fail_next_operation("reinit", at_step=1, message="clone failed")
            await lagging_page(fleet, rt)
            await settle(h, finished(n))
        await lagging_page(fleet, rt)
        found = await settle(h, finished(3))
        assert [r.state for r in found] == ["failed", "failed", "limited"]
        assert "stopped after 2 failed runs in a row" in (found[2].detail or "")
        texts = await said_times(h, "automation could not handle this", 3)
        assert any("stopped after 2 failed runs" in t for t in texts)
        assert any("clone failed" in t and "did not fix it" in t for t in texts)
        assert fleet.calls["start"] == 2
        await h.command("alice", "/fleet automation resume -- looked at the disks")
        assert "Automation resumed" in (await h.wait_for_response("alice")).text
        await lagging_page(fleet, rt)
        found = await settle(h, limited_to(4))
        assert found[3].state in ("running", "succeeded")


async def test_pages_caused_by_automation_count_against_its_limit_and_stop_there(
    db_url: str,
) -> None:
    """Automation's reinit pages again (the replica lags while it is rebuilt): the loop is
    counted, never re-run, and ends at the hourly limit with a person woken."""
    async with FleetUnderTest() as fleet, automation_harness(
        db_url, fleet, limits={"runs_per_service_per_hour": 3},
        automation={"feedback_window_minutes": 15},
    ) as h:  # fmt: skip
        rt = h.bot.runtime
        for count in range(1, 6):
            await lagging_page(fleet, rt)
            await settle(h, limited_to(count))
        found = await settle(h, limited_to(5))
        assert [r.state for r in found][1:] == ["feedback", "feedback", "limited", "limited"]
        assert fleet.calls["start"] == 1
        texts = await said_times(h, "automation could not handle this", 2)
        assert any("not acted on again" in t and "(3 of 3 this hour)" in t for t in texts)
