"""The Grafana dashboard shipped for the bot (deploy/grafana/watchkeeper.json): a dashboard
Grafana can import, whose every query names only series the bot exports (read from the
metrics registry), is valid PromQL (checked by promtool), and that covers what an
operator watches."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from bot.monitoring.metrics import Metrics
from tests.conftest import need_real

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "watchkeeper.json"
PANEL_TYPES = {"row", "timeseries", "stat", "table", "gauge", "bargauge", "text"}
# The series each kind of family exports under its name.
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "info": ("_info",),
}
# What an operator needs to see, each by the family that shows it.
COVERED = {
    "watchkeeper_outbox_depth",
    "watchkeeper_outbox_oldest_pending_age_seconds",
    "watchkeeper_dependency_up",
    "watchkeeper_pages_received",
    "watchkeeper_audit_last_checkpoint_timestamp_seconds",
    "watchkeeper_automation_paused_since_timestamp_seconds",
    "watchkeeper_scheduler_leader",
    "watchkeeper_guard_denials",
    "watchkeeper_command_duration_seconds",
}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def queries() -> list[str]:
    return [
        target["expr"] for panel in dashboard()["panels"] for target in panel.get("targets", [])
    ]


def exported_series() -> dict[str, str]:
    """Every series name the bot's registry can export, to the family it belongs to."""
    series: dict[str, str] = {}
    for family in Metrics().registry.collect():
        for suffix in SUFFIXES[family.type]:
            series[family.name + suffix] = family.name
    return series


def test_it_is_a_dashboard_grafana_imports() -> None:
    board = dashboard()
    assert isinstance(board["title"], str) and board["title"]
    assert isinstance(board["uid"], str) and re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", board["uid"])
    assert isinstance(board["schemaVersion"], int)
    assert {v["name"] for v in board["templating"]["list"]} >= {"datasource"}
    panels = board["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels:
        assert panel["type"] in PANEL_TYPES, panel["title"]
        place = panel["gridPos"]
        assert all(isinstance(place[k], int) and place[k] >= 0 for k in ("h", "w", "x", "y"))
        assert place["x"] + place["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]


def test_every_series_queried_is_one_the_bot_exports() -> None:
    exported = exported_series()
    named = {name for expr in queries() for name in re.findall(r"watchkeeper_[a-z_]+", expr)}
    assert named, "the dashboard queries nothing of the bot"
    assert named <= set(exported), sorted(named - set(exported))
    families = {exported[name] for name in named}
    assert families >= COVERED, sorted(COVERED - families)


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    binary = shutil.which("promtool")
    if binary is None:
        need_real("promtool is not installed (apt-get install prometheus)")
    rules = [{"record": f"dashboard:query{i}", "expr": e} for i, e in enumerate(queries())]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = subprocess.run(
        [binary, "check", "rules", str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_exporter_check_would_catch_a_misspelt_series() -> None:
    assert "watchkeeper_outbox_depth" in exported_series()
    assert "watchkeeper_outbox_depth_total" not in exported_series()
    assert "watchkeeper_pages_received_total" in exported_series()
    assert "watchkeeper_build_info" in exported_series()
