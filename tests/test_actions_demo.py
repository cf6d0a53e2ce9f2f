"""The shipped demo profile runs the guarded flow end to end: docs/demo/actions.txt."""

from __future__ import annotations

from pathlib import Path

from tests.test_demo_script import ROOT, demo_config, run_demo


def test_the_actions_demo_script_runs_clean(tmp_path: Path) -> None:
    result = run_demo(demo_config(tmp_path), ROOT / "docs/demo/actions.txt", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Preview: switchover pg-orders" in result.stdout
    assert "cannot approve (or deny) your own request" in result.stdout
    assert "post-check passed" in result.stdout
