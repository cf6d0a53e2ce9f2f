"""The shipped demo profile fixes a replica lag by itself: docs/demo/automation.txt through
the console, and a plain `watchkeeper demo` session whose first simulated fault is one."""

from __future__ import annotations

import re
import selectors
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

from bot.config import load_config
from bot.oncall.rotation import on_call
from tests.test_demo_script import ROOT, demo_config, demo_output

FIXED = "Fixed without waking anyone."


def shipped_on_call(tmp_path: Path) -> str:
    """Who the shipped `databases` rotation has on call now (no overrides in a fresh demo)."""
    rotation = load_config(demo_config(tmp_path)).oncall.rotations[0]
    return on_call(rotation, datetime.now(UTC), [])


def test_the_automation_demo_script_fixes_replica_lag_and_the_thread_says_so(
    tmp_path: Path,
) -> None:
    before = shipped_on_call(tmp_path)
    out = demo_output(tmp_path, ROOT / "docs/demo/automation.txt")
    # The shipped rotation hands off twice a day: whoever was on call during the run.
    on_call_then = {before, shipped_on_call(tmp_path)}
    fixed = next(line for line in out.splitlines() if FIXED in line)
    assert fixed.startswith("      :white_check_mark: Automation ran `reinit` on `pg-orders`")
    before_pause = out[: out.index("/fleet automation pause")]
    # The thread said it was fixed before anyone was mentioned; the pause then escalates.
    assert "@S0DBA0001" not in before_pause and "a person is needed" not in before_pause
    escalated = re.search(r"@S0DBA0001 @(\w+): automation could not handle this", out)
    assert escalated is not None and escalated.group(1) in on_call_then


def _session_config(tmp_path: Path) -> Path:
    """The shipped profile with its first simulated fault due one second after start."""
    path = demo_config(tmp_path)
    raw = yaml.safe_load(path.read_text())
    raw["demo"]["first_page_seconds"] = 1
    path.write_text(yaml.safe_dump(raw))
    return path


def _read_until(proc: subprocess.Popen[str], wanted: str, within: float) -> str:
    """Console output up to the line containing `wanted` (AssertionError after `within`)."""
    assert proc.stdout is not None
    seen: list[str] = []
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if not selector.select(timeout=max(0.0, deadline - time.monotonic())):
                break
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            if wanted in line:
                return "".join(seen)
    raise AssertionError(f"{wanted!r} not shown; the console showed:\n{''.join(seen)[-3000:]}")


def test_a_plain_demo_session_opens_with_a_replica_lag_that_fixes_itself(
    tmp_path: Path,
) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "bot.cli", "demo", "--config", str(_session_config(tmp_path))]
    with subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True, cwd=tmp_path, env=env,
    ) as proc:  # fmt: skip
        try:
            shown = _read_until(proc, FIXED, within=40)
            assert "Runbooks fix some pages by themselves (replica-lag)" in shown
            assert "WARNING · PostgresReplicationLag" in shown
            assert "Runbook *replica-lag* matched `PostgresReplicationLag`" in shown
            # The simulated monitoring sees the service healthy and clears the alert.
            _read_until(proc, "Resolved: every alert has cleared (alertmanager)", within=25)
        finally:
            assert proc.stdin is not None
            proc.stdin.write("/quit\n")
            proc.stdin.close()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
    assert proc.returncode == 0
