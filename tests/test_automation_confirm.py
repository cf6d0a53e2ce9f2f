"""A page is a claim, the fleet is the fact: a runbook repairs only what the fleet shows
broken (bot/automation/confirm.py), the page's own fields win over its labels, and only
the sources in `automation.sources` may start a runbook."""

from __future__ import annotations

from typing import Any

import pytest

from bot.automation.config import DEFAULT_LAG_BYTES, Confirm
from bot.automation.confirm import judge
from bot.automation.runner import labels_of
from bot.config import ConfigError, parse_config
from bot.runtime import Runtime
from integrations.fleet.models import Member, Service
from integrations.pages import Page
from tests.actions_support import FleetUnderTest
from tests.automation_support import (
    LAG,
    ONCALL,
    automation_harness,
    decisions,
    lag_page,
    lagging_page,
    limited_to,
    params_of,
    runbook,
    settle,
    thread_texts,
)
from tests.conftest import base_config
from tests.incident_helpers import batch, page
from tests.intake_helpers import intake_section
from tests.markup_checks import assert_no_outside_markup


async def send(rt: Runtime, p: Page) -> None:
    assert rt.hooks.page_sink is not None
    await rt.hooks.page_sink(rt, batch(p))


def nothing_reached_the_fleet(fleet: FleetUnderTest) -> bool:
    return fleet.calls["plan"] == 0 and fleet.calls["start"] == 0 and not fleet.sim.operations()


async def test_a_page_naming_a_healthy_replica_only_says_why_it_did_not_run(
    db_url: str,
) -> None:
    async with FleetUnderTest() as fleet, automation_harness(db_url, fleet) as h:
        rt = h.bot.runtime
        await lag_page(rt)  # pg-orders-3 is a healthy replica, a few KiB behind at most
        (run,) = await settle(h, limited_to(1))
        assert run.state == "unconfirmed" and run.request_id is None
        assert "`pg-orders-3` is a replica, running" in (run.detail or "")
        assert "not the fault the runbook repairs (a replica more than 16 MiB behind)" in (
            run.detail or ""
        )
        texts = "\n".join(await thread_texts(h, "automation could not handle this"))
        assert "Runbook *replica-lag* matched, but did not run" in texts
        assert any(who in texts for who in ONCALL)  # left to people
        (decided,) = await decisions(rt)
        assert decided.outcome == "unconfirmed"
        seen = params_of(decided)["seen"]
        assert (seen["member"], seen["role"], seen["state"]) == (
            "pg-orders-3",
            "replica",
            "running",
        )
        assert seen["lag_bytes"] <= DEFAULT_LAG_BYTES
        await h.quiet()
        assert nothing_reached_the_fleet(fleet)


async def test_a_lagging_replica_is_repaired_and_the_record_shows_the_lag_seen(
    db_url: str,
) -> None:
    async with FleetUnderTest() as fleet, automation_harness(db_url, fleet) as h:
        rt = h.bot.runtime
        await lagging_page(fleet, rt)
        await settle(h, lambda found: bool(found) and found[0].state == "succeeded")
        accepted, succeeded = await decisions(rt)
        assert (accepted.outcome, succeeded.outcome) == ("accepted", "succeeded")
        assert params_of(accepted)["seen"] == {
            "member": "pg-orders-3", "role": "replica", "state": "running",
            "healthy": True, "lag_bytes": LAG,
        }  # fmt: skip
        texts = "\n".join(await thread_texts(h, "Fixed without waking anyone"))
        assert "Seen in the fleet: `pg-orders-3` is a replica, running, 512 MiB behind." in texts
        (op,) = fleet.sim.operations()
        assert (op.action, op.params) == ("reinit", {"member": "pg-orders-3"})


async def test_a_page_naming_a_missing_member_the_primary_or_an_unknown_service_is_refused(
    db_url: str,
) -> None:
    async with FleetUnderTest() as fleet, automation_harness(db_url, fleet) as h:
        rt = h.bot.runtime
        primary = fleet.sim.service("pg-billing").primary
        assert primary is not None
        fleet.sim.degrade("pg-billing", primary.name, lag_bytes=LAG)  # lags, yet a primary
        await lag_page(rt, "pg-orders", "pg-orders-9")
        await lag_page(rt, "pg-billing", primary.name)
        await lag_page(rt, "pg-nowhere", "pg-nowhere-2")
        found = await settle(h, limited_to(3))
        assert [r.state for r in found] == ["unconfirmed"] * 3
        # Decided concurrently: in the order of their services' names.
        wrong_role, unknown, missing = (
            r.detail or "" for r in sorted(found, key=lambda r: r.service)
        )
        assert missing == "`pg-orders` has no member `pg-orders-9`"
        assert f"`{primary.name}` is a primary" in wrong_role
        assert "automation repairs only a replica" in wrong_role
        assert "the fleet could not be asked about `pg-nowhere`" in unknown
        await h.quiet()
        assert nothing_reached_the_fleet(fleet)


async def test_a_label_cannot_send_the_repair_to_another_service(db_url: str) -> None:
    # A runbook for pg-billing only; a page about pg-orders whose labels claim pg-billing.
    scoped = runbook(match={"alertname": "PostgresReplicationLag", "service": "pg-billing"})
    async with (
        FleetUnderTest() as fleet,
        automation_harness(db_url, fleet, runbooks=[scoped]) as h,
    ):
        rt = h.bot.runtime
        fleet.sim.degrade("pg-billing", "pg-billing-3", lag_bytes=LAG)
        claim = page("redirect-1", service="pg-orders", member="pg-billing-3")
        forged = claim.model_copy(update={"labels": {**claim.labels, "service": "pg-billing"}})
        assert labels_of(forged)["service"] == "pg-orders"
        await send(rt, forged)
        await h.quiet()
        assert await decisions(rt) == []  # the runbook for pg-billing never matched
        assert nothing_reached_the_fleet(fleet)


async def test_a_page_from_a_source_not_in_automation_sources_is_left_to_people(
    db_url: str,
) -> None:
    async with (
        FleetUnderTest() as fleet,
        automation_harness(db_url, fleet, automation={"sources": ["alertmanager"]}) as h,
    ):
        rt = h.bot.runtime
        fleet.sim.degrade("pg-orders", "pg-orders-3", lag_bytes=LAG)
        claim = page("uptime-1", service="pg-orders", member="pg-orders-3")
        # The sender is the generic uptime hook; a label claiming Alertmanager changes nothing.
        labels = {**claim.labels, "source": "alertmanager"}
        await send(rt, claim.model_copy(update={"source": "generic:uptime", "labels": labels}))
        (run,) = await settle(h, limited_to(1))
        assert run.state == "untrusted"
        assert run.detail == (
            "pages from `generic:uptime` may not start automation "
            "(`automation.sources`: alertmanager)"
        )
        texts = "\n".join(await thread_texts(h, "automation could not handle this"))
        assert "may not start automation" in texts and any(who in texts for who in ONCALL)
        (decided,) = await decisions(rt)
        assert (decided.outcome, params_of(decided)["seen"]) == ("untrusted", None)
        await h.quiet()
        assert nothing_reached_the_fleet(fleet)


async def test_what_the_page_names_reaches_the_thread_as_text(db_url: str) -> None:
    async with FleetUnderTest() as fleet, automation_harness(db_url, fleet) as h:
        rt = h.bot.runtime
        member = "<!channel> <@U0EVIL000>"
        await lag_page(rt, "pg-orders", member)
        (run,) = await settle(h, limited_to(1))
        assert run.state == "unconfirmed"
        await thread_texts(h, "automation could not handle this")
        await h.quiet()
        assert_no_outside_markup(h.state.calls("chat.postMessage"), [member])


# The confirm step's judgement, without a fleet.


def service_of(*members: Member) -> Service:
    return Service(name="pg-x", kind="postgres", plan="p", region="r", health="degraded",
                   members=list(members))  # fmt: skip


def member(name: str, role: Any = "replica", state: Any = "running", lag: int = 0) -> Member:
    return Member(name=name, role=role, state=state, healthy=state == "running", lag_bytes=lag)


def test_a_restart_runbook_confirms_a_stopped_or_crashed_member_only() -> None:
    condition = Confirm(states=["stopped", "failed"])
    for state, confirmed in (("stopped", True), ("failed", True), ("running", False)):
        found = judge(condition, service_of(member("m1", state=state)), "m1")
        assert (found.refused is None) is confirmed, state
        assert found.seen is not None and found.seen["state"] == state


def test_lag_at_the_threshold_is_not_yet_a_fault() -> None:
    condition = Confirm(lag_bytes_above=100)
    assert judge(condition, service_of(member("m1", lag=100)), "m1").refused == "unconfirmed"
    assert judge(condition, service_of(member("m1", lag=101)), "m1").refused is None


def raw_config(**sections: Any) -> dict[str, Any]:
    return base_config(intake=intake_section(), **sections)


def test_automation_sources_default_to_the_intake_sources_with_credentials() -> None:
    from bot.automation.confirm import trusted_sources

    only_am = base_config(intake={"alertmanager": intake_section()["alertmanager"]})
    assert trusted_sources(parse_config(only_am, {})) == ["alertmanager"]
    every = trusted_sources(parse_config(raw_config(), {}))
    assert every[:3] == ["alertmanager", "pagerduty", "grafana"] and "generic:uptime" in every


@pytest.mark.parametrize(
    ("sections", "complaint"),
    [
        ({"automation": {"sources": ["grafna"]}}, "automation.sources: intake.grafna is not"),
        ({"runbooks": [runbook(action="failover", params={})]}, "repairs one member"),
        ({"runbooks": [runbook(action="switchover", params={"candidate": "{member}"})]},
         "repairs one member"),
        ({"runbooks": [runbook(confirm={"roles": ["primary"], "states": ["failed"]})]},
         "roles"),
        ({"runbooks": [runbook(confirm={})]}, "set lag_bytes_above, states, or both"),
    ],
)  # fmt: skip
def test_config_refuses_a_runbook_the_fleet_cannot_confirm(
    sections: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ConfigError, match=complaint):
        parse_config(raw_config(**sections), {})
