"""`watchkeeper demo --socket`: the shipped scripts run with Slack's side reaching the bot
over Socket Mode. `/slack/events` is not served in that mode (tests/test_socket_mode_surface.py),
so a line that went over HTTP instead would fail the script."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_demo_script import ROOT, demo_config, run_demo


@pytest.mark.parametrize(
    ("script", "shown"),
    [
        # A page, its thread's Acknowledge button and commands, through a dropped socket
        # and a refresh.
        ("socket.txt", "(Slack dropped 1 socket(s) without warning; the bot reconnects)"),
        # A command's preview, Confirm, a refused and an accepted Approve.
        ("actions.txt", "post-check passed"),
    ],
)
def test_the_shipped_scripts_run_over_socket_mode(tmp_path: Path, script: str, shown: str) -> None:
    result = run_demo(demo_config(tmp_path), ROOT / "docs/demo" / script, tmp_path, "--socket")
    assert result.returncode == 0, result.stderr + result.stdout[-3000:]
    assert shown in result.stdout
    log = (tmp_path / "var/demo.log").read_text()
    assert "Socket Mode connected" in log


def test_moving_the_socket_needs_socket_mode(tmp_path: Path) -> None:
    script = tmp_path / "drop.txt"
    script.write_text("/socket drop\n")
    result = run_demo(demo_config(tmp_path), script, tmp_path)
    assert result.returncode == 1
    assert "drop.txt:1: /socket needs the demo in Socket Mode (demo --socket)" in result.stderr
