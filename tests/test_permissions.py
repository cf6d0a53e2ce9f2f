"""The permission step: every command and button passes it before its handler, it keeps
incident work in the incident's channel, and it leaves one audit row per invocation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.audit import vocabulary as v
from bot.audit.hash_chain import KeyRing
from bot.audit.verifier import verify
from bot.composition import assemble
from bot.config import ConfigError, parse_config
from bot.incidents.ingest import ingest
from bot.permissions.check import check_permissions
from bot.permissions.config import PermissionsConfig
from bot.permissions.verbs import VerbChoice, checked_verb
from bot.registry import CommandRegistry
from tests.conftest import base_config
from tests.harness import USERS, BotHarness, find_button
from tests.incident_helpers import audit_rows, batch, incidents, page, recorded, roots, settle
from tests.monitoring_support import sample

ELSEWHERE = "C0OTHER01"
DM = "D0DIRECT1"


def _params(row: Any) -> dict[str, Any]:
    return dict(json.loads(row.params))


async def test_thirty_fleet_commands_leave_thirty_invocation_rows(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        rt = h.bot.runtime
        for i in range(15):
            who = ("dave", "erin")[i % 2]  # neither holds a role
            await h.command(who, "/fleet status")
            await h.command(who, "/fleet restart pg-orders -- try it")
        await h.eventually(
            lambda: _count_at_least(rt, 30),
        )
        rows = await audit_rows(rt, v.COMMAND_INVOKED)
        assert len(rows) >= 30
        status = [r for r in rows if _params(r)["verb"] == "fleet.status"]
        restart = [r for r in rows if _params(r)["verb"] == "fleet.restart"]
        assert len(status) == len(restart) == 15
        assert {r.outcome for r in status} == {v.ALLOWED}
        assert {r.outcome for r in restart} == {v.REFUSED}
        assert all("responder" in (_params(r)["reason"] or "") for r in restart)
        assert {r.actor for r in rows} == {USERS["dave"], USERS["erin"]}
        assert all(_params(r)["channel"] == "C0DEMO001" for r in rows)
        async with rt.engine.connect() as conn:
            assert (await verify(conn, KeyRing.from_config(h.config.audit))).ok


async def _count_at_least(rt: Any, n: int) -> bool | None:
    return len(await audit_rows(rt, v.COMMAND_INVOKED)) >= n or None


async def test_incident_commands_need_a_responder_in_the_incident_channel(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        rt = h.bot.runtime
        await ingest(rt, batch(page("fp-1")))
        await settle(rt)
        await recorded(rt, "incident:1")
        # No role: refused, whatever the channel.
        await h.command("dave", "/incident resolve #1")
        assert "incident.resolve" in (await h.wait_for_response("dave")).text
        # A responder, but from another channel or a DM: refused, and told where.
        await h.command("alice", "/incident resolve #1", channel=ELSEWHERE)
        elsewhere = await h.wait_for_response("alice")
        assert "<#C0DEMO001>" in elsewhere.text and "resolved" not in elsewhere.text
        await h.command("bob", "/incident silence #1 2h", channel=DM)
        assert "<#C0DEMO001>" in (await h.wait_for_response("bob")).text
        [incident] = await incidents(rt)
        assert incident.status != "resolved"
        assert await audit_rows(rt, v.SILENCE_CREATED) == []
        # In the incident's channel, the responder acts.
        await h.command("alice", "/incident resolve #1")
        assert "You resolved incident #1" in (await h.wait_for_response("alice", 2)).text
        invoked = await audit_rows(rt, v.COMMAND_INVOKED)
        assert [(r.actor, r.outcome) for r in invoked] == [
            (USERS["dave"], v.REFUSED),
            (USERS["alice"], v.REFUSED),
            (USERS["bob"], v.REFUSED),
            (USERS["alice"], v.ALLOWED),
        ]
        assert _params(invoked[1])["incident"] == "incident:1"


async def test_refusals_of_the_step_count_as_guard_denials(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        metrics = h.bot.runtime.metrics

        def denied() -> float:
            text = metrics.render().decode()
            return sample(text, "watchkeeper_guard_denials_total", guard="permission")

        await h.command("dave", "/fleet status")  # a read anyone may do: not a denial
        await h.wait_for_response("dave")
        assert denied() == 0
        await h.command("dave", "/fleet restart pg-orders -- no role")
        assert "fleet.restart" in (await h.wait_for_response("dave", 2)).text
        await h.command("erin", "/incident resolve #1")
        await h.wait_for_response("erin")
        assert denied() == 2


async def test_incident_buttons_pass_the_same_step(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        rt = h.bot.runtime
        await ingest(rt, batch(page("fp-1")))
        await settle(rt)
        await recorded(rt, "incident:1")
        root = roots(h.state)[0]
        resolve = find_button(root.blocks, "Resolve")
        await h.click("carol", resolve, message_ts=root.ts)  # an auditor, not a responder
        assert "incident.resolve" in (await h.wait_for_response("carol")).text
        # The same button clicked where the incident does not live is refused too.
        await h.click("bob", resolve, message_ts=root.ts, channel=ELSEWHERE)
        assert "<#C0DEMO001>" in (await h.wait_for_response("bob")).text
        [incident] = await incidents(rt)
        assert incident.status != "resolved"
        await h.click("bob", resolve, message_ts=root.ts)
        assert "You resolved incident #1" in (await h.wait_for_response("bob", 2)).text
        rows = await audit_rows(rt, v.COMMAND_INVOKED)
        assert [(_params(r)["verb"], r.outcome) for r in rows] == [
            ("incident.resolve", v.REFUSED),
            ("incident.resolve", v.REFUSED),
            ("incident.resolve", v.ALLOWED),
        ]


async def test_audit_reads_are_for_auditors_who_cannot_resume_automation(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        await h.command("alice", "/audit recent")
        assert "audit.read" in (await h.wait_for_response("alice")).text
        await h.command("carol", "/audit recent")
        assert "audit.read" not in (await h.wait_for_response("carol")).text
        await h.command("carol", "/fleet automation resume -- back to normal")
        refused = await h.wait_for_response("carol", 2)
        assert "automation.resume" in refused.text and "responder" in refused.text
        assert await audit_rows(h.bot.runtime, v.AUTOMATION_SWITCHED) == []


def test_permissions_are_default_deny_and_the_most_specific_rule_decides() -> None:
    rules = PermissionsConfig.model_validate(
        {"fleet.*": ["responder"], "fleet.status": ["anyone"], "fleet.re*": ["oncall"]}
    )
    assert rules.rule_for("fleet.status") == ("fleet.status", ["anyone"])
    assert rules.rule_for("fleet.restart") == ("fleet.re*", ["oncall"])
    assert rules.rule_for("fleet.failover") == ("fleet.*", ["responder"])
    assert rules.rule_for("incident.ack") is None
    assert PermissionsConfig().rule_for("fleet.status") is None


def test_a_rule_naming_an_unknown_role_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown role"):
        parse_config(base_config(permissions={"incident.*": ["responders"]}), {})


def test_a_rule_matching_no_verb_stops_the_start() -> None:
    config = parse_config(base_config(permissions={"incdent.*": ["responder"]}), {})
    with pytest.raises(ConfigError, match=r"permissions\.incdent\.\*"):
        check_permissions(assemble(config))


def test_every_registration_declares_a_well_formed_verb() -> None:
    registry: CommandRegistry[None] = CommandRegistry()
    with pytest.raises(ValueError, match="bad verb"):
        registry.add("x", "y", usage="y", summary="y", verb="Resolve")
    with pytest.raises(ValueError, match="bad verb"):
        checked_verb("incident.resolve\n")
    choice = VerbChoice({"pause": "automation.pause"})
    assert (choice.pick("PAUSE"), choice.pick("other")) == ("automation.pause", None)
