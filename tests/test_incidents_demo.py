"""`watchkeeper demo --script`: monitoring pages the bot through `/hooks/alertmanager`, the
incident thread appears with the fleet's view, is acknowledged by its button, noted and
resolved by command; and a suggested repair action runs through the guarded flow."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from bot.incidents.demo import DemoPager
from tests.actions_support import sim_url
from tests.harness import BotHarness
from tests.incident_helpers import incidents
from tests.intake_helpers import intake_section
from tests.test_demo_script import ROOT, demo_output


def test_the_shipped_incident_script_shows_a_thread_from_page_to_resolution(
    tmp_path: Path,
) -> None:
    out = demo_output(tmp_path, ROOT / "docs/demo/incident.txt")
    assert "(Alertmanager pages the bot: PostgresReplicaDown on pg-orders" in out
    assert "== :red_circle: CRITICAL · PostgresReplicaDown ==" in out
    assert re.search(r"\*Fleet now\* · [0-9-]+ [0-9:]+ UTC — :large_yellow_circle: degraded", out)
    assert re.search(r"\*Fleet at resolution\* · [0-9-]+ [0-9:]+ UTC — ", out)
    assert "(:rotating_light: Paging @S0DBA0001 " in out
    assert "Resolved by @UBOB0002" in out


def test_a_suggested_action_runs_in_the_incident_thread(tmp_path: Path) -> None:
    script = tmp_path / "act.txt"
    script.write_text(
        # Paused, the replica-lag runbook leaves the page to people (it suggests, still).
        "/fleet automation pause\n"
        "/page pg-orders PostgresReplicationLag\n"
        "/wait 2\n"
        "/expect [5 Reinit pg-orders-3]\n"
        "5\n"
        "/wait 3\n"
        "/expect reinit pg-orders\n"
    )
    assert "    ↳ #C0DEMO001\n      == reinit pg-orders ==" in demo_output(tmp_path, script)


async def test_the_simulated_monitoring_pages_a_fault_and_resolves_it_once_healed(
    db_url: str,
) -> None:
    async with BotHarness(db_url, intake=intake_section()) as h:
        rt = h.bot.runtime
        simulator = sim_url(h)
        pager = DemoPager(rt, h.url, simulator)
        try:
            service = await rt.fleet.get_service("pg-orders")
            line = await pager.page(service, "PostgresReplicaDown")
            assert "PostgresReplicaDown on pg-orders" in line
            assert (await rt.fleet.get_service("pg-orders")).health == "degraded"
            [incident] = await incidents(rt)
            assert (incident.severity, incident.status) == ("critical", "triggered")
            assert await pager.resolve_healed() == 0  # still broken
            async with httpx.AsyncClient() as http:
                await http.post(
                    simulator + "/_sim/degrade",
                    json={"service": "pg-orders", "member": "pg-orders-3", "healthy": True},
                )
            assert await pager.resolve_healed() == 1
            [incident] = await incidents(rt)
            assert incident.status == "resolved"
            # A fault of its own choosing, on a healthy service of the fleet.
            assert "Alertmanager pages the bot" in await pager.raise_fault()
            assert any(i.status == "triggered" for i in await incidents(rt))
        finally:
            await pager.aclose()
