"""`watchkeeper demo --script` drives the whole demo as a user would, and fails on a bad line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def demo_config(tmp_path: Path) -> Path:
    raw = yaml.safe_load((ROOT / "app.yaml").read_text())
    raw["storage"]["url"] = f"sqlite+aiosqlite:///{tmp_path}/demo.db"
    raw["server"]["port"] = 0
    raw["demo"]["standin_port"] = 0
    raw["fleet"]["backends"][0]["url"] = "http://127.0.0.1:0"
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def run_demo(
    config: Path, script: Path, cwd: Path, *options: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--config", str(config), "--script", str(script),
         *options],
        capture_output=True, text=True, timeout=120, cwd=cwd, check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def demo_output(tmp_path: Path, script: Path) -> str:
    """What the console showed for `script` on the shipped profile, which must exit 0."""
    result = run_demo(demo_config(tmp_path), script, tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout[-3000:]
    return result.stdout


def test_the_shipped_demo_script_runs_clean(tmp_path: Path) -> None:
    result = run_demo(demo_config(tmp_path), ROOT / "docs/demo/status.txt", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "== pg-orders (postgres) ==" in result.stdout
    assert "(only bob sees this)" in result.stdout


def test_a_failing_line_makes_the_demo_exit_non_zero(tmp_path: Path) -> None:
    script = tmp_path / "bad.txt"
    script.write_text("/fleet status pg-orders\n/expect pg-billing\n/fleet status\n")
    result = run_demo(demo_config(tmp_path), script, tmp_path)
    assert result.returncode == 1
    assert "bad.txt:2: expected 'pg-billing'" in result.stderr
    assert "Fleet:" not in result.stdout  # it stopped at the failing line
