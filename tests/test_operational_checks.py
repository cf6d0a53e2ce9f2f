"""`check-config` warns about configurations that load but fail someone at night; the
shipped profile passes with no warning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import load_config, parse_config
from bot.operational_checks import operational_warnings
from tests.conftest import base_config

APP_YAML = Path(__file__).resolve().parent.parent / "app.yaml"
ROTATION = {
    "name": "dbs",
    "channel": "C0DEMO002",
    "members": ["UALICE01"],
    "handoffs": ["09:00"],
    "start": "2026-01-01",
}
AUDITOR = {"auditor": {"users": ["UCAROL03"]}}


def warnings_of(**sections: Any) -> list[str]:
    return operational_warnings(parse_config(base_config(**sections), {}))


def test_the_shipped_profile_has_no_warning(capsys: pytest.CaptureFixture[str]) -> None:
    assert operational_warnings(load_config(APP_YAML)) == []
    assert main(["check-config", "--config", str(APP_YAML)]) == 0
    assert "warning:" not in capsys.readouterr().err


def test_a_route_and_a_default_that_page_nobody_are_named() -> None:
    silent = warnings_of(
        routing={"routes": [{"name": "kafka", "match": {"kind": "kafka"}, "channel": "C0KAFKA01"}]}
    )
    assert any("route 'kafka' mentions nobody" in w for w in silent)
    assert any("pages no route takes ping no one" in w for w in silent)
    heard = warnings_of(
        routing={
            "routes": [{"name": "kafka", "channel": "C0KAFKA01", "mention": ["S0KAFKA01"]}],
            "default_mention": ["UALICE01"],
        }
    )
    assert heard == []


def test_a_rotation_of_one_has_nobody_to_hand_off_to() -> None:
    found = warnings_of(oncall={"rotations": [ROTATION]}, routing={"default_oncall": "dbs"})
    assert found == ["rotation 'dbs' has one member: every handoff is to the same person"]


def test_a_runbook_no_policy_lets_automation_run_is_named() -> None:
    runbook = {
        "name": "lagging-replica",
        "match": {"alertname": "PostgresReplicationLag"},
        "action": "reinit",
        "params": {"member": "{member}"},
    }
    roles = {
        "responder": {"users": ["UALICE01", "UBOB0002"]},
        "bots": {"automation": True},
        **AUDITOR,
    }
    people_only = {"rules": [{"actions": ["reinit"], "roles": ["responder"]}]}
    found = warnings_of(
        runbooks=[runbook],
        roles=roles,
        policies=people_only,
        routing={"default_mention": ["UALICE01"]},
    )
    assert any("runbook 'lagging-replica' runs `reinit`" in w for w in found)
    both = {"rules": [{"actions": ["reinit"], "roles": ["responder", "bots"]}]}
    assert (
        warnings_of(
            runbooks=[runbook],
            roles=roles,
            policies=both,
            routing={"default_mention": ["UALICE01"]},
        )
        == []
    )


def test_an_approval_nobody_else_can_give_is_named() -> None:
    rule = {
        "actions": ["failover"],
        "roles": ["responder"],
        "approval": {"roles": ["responder"], "count": 1},
    }
    lone = warnings_of(
        roles={"responder": {"users": ["UALICE01"]}, **AUDITOR},
        policies={"rules": [rule]},
        routing={"default_mention": ["UALICE01"]},
    )
    assert any("can never be approved" in w for w in lone)
