"""The alert rules shipped for the bot itself (deploy/prometheus): valid for Prometheus,
unit-tested with `promtool test rules`, and naming only metrics the bot exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bot.monitoring.findings import Snapshot
from bot.monitoring.metrics import Metrics
from tests.conftest import need_real

RULES = Path(__file__).resolve().parent.parent / "deploy" / "prometheus"
AT = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


def promtool(*args: str) -> str:
    binary = shutil.which("promtool")
    if binary is None:
        need_real("promtool is not installed (apt-get install prometheus)")
    done = subprocess.run(
        [binary, *args], cwd=RULES, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_rules_load_and_their_unit_tests_pass() -> None:
    assert "SUCCESS: 9 rules found" in promtool("check", "rules", "watchkeeper.rules.yml")
    assert "SUCCESS" in promtool("test", "rules", "watchkeeper.rules.test.yml")


def families(metrics: Metrics) -> dict[str, dict[str, float]]:
    """Each family by name (counters without `_total`), with its unlabelled samples."""
    text = metrics.render().decode()
    return {
        family.name: {sample.name: sample.value for sample in family.samples}
        for family in text_string_to_metric_families(text)
    }


def test_every_metric_a_rule_names_is_exported() -> None:
    named = set(re.findall(r"watchkeeper_[a-z_]+", (RULES / "watchkeeper.rules.yml").read_text()))
    assert named, "the rules name no metric of the bot"
    metrics = Metrics()
    metrics.show(Snapshot(AT, 0, 0.0, 0, None), [], leader=True)
    known = families(metrics)
    assert {name.removesuffix("_total") for name in named} <= set(known)


def test_paused_automation_and_checkpoints_show_in_metrics() -> None:
    paused = "watchkeeper_automation_paused_since_timestamp_seconds"
    checkpoint = "watchkeeper_audit_last_checkpoint_timestamp_seconds"
    metrics = Metrics()
    metrics.show(Snapshot(AT, 0, 0.0, 0, None, automation_paused_since=AT), [], leader=False)
    metrics.audit_checkpointed(AT)
    seen = families(metrics)
    assert seen[paused][paused] == AT.timestamp()
    assert seen[checkpoint][checkpoint] == AT.timestamp()
    metrics.show(Snapshot(AT, 0, 0.0, 0, None), [], leader=False)
    assert families(metrics)[paused][paused] == 0
