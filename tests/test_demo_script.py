"""`watchkeeper demo --script` drives the whole demo as a user would, and fails on a bad line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.config import parse_config
from bot.demo.fresh import start_afresh

ROOT = Path(__file__).resolve().parent.parent


def demo_config(tmp_path: Path, *, in_var: bool = False) -> Path:
    """The shipped profile on free ports; its database in `tmp_path`, or with `in_var`
    where `make demo` keeps it: `./var/` of the working directory."""
    raw = yaml.safe_load((ROOT / "app.yaml").read_text())
    if not in_var:
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


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "docs/demo").glob("*.txt")))
def test_each_demo_script_runs_again_on_a_used_var(tmp_path: Path, name: str) -> None:
    config = demo_config(tmp_path, in_var=True)
    # socket.txt moves the bot's Socket Mode connection: it only runs with --socket.
    flags = ("--socket",) if name == "socket.txt" else ()
    for run in ("fresh", "used"):
        result = run_demo(config, ROOT / "docs/demo" / name, tmp_path, *flags)
        assert result.returncode == 0, f"{run} var/: {result.stderr}{result.stdout[-3000:]}"
    assert (tmp_path / "var" / "watchkeeper.db").is_file()


def test_a_new_run_moves_only_the_demos_own_files_and_keeps_the_last_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    raw = yaml.safe_load((ROOT / "app.yaml").read_text())
    config = parse_config(raw, {})
    var = tmp_path / "var"
    var.mkdir()
    for run in ("first", "second"):
        (var / "watchkeeper.db").write_text(run)
        (var / "watchkeeper.db-wal").write_text(run)
        (var / "audit-checkpoints.log").write_text(run)
        (var / "demo.log").write_text(run)
        moved = start_afresh(config)
        assert sorted(p.name for p in moved) == [
            "audit-checkpoints.log", "watchkeeper.db", "watchkeeper.db-wal"
        ]  # fmt: skip
        assert all(p.read_text() == run for p in moved)  # an older run's are replaced
        assert not (var / "watchkeeper.db").exists() and (var / "demo.log").exists()
    assert start_afresh(config) == []  # nothing left to move

    elsewhere = parse_config(raw, {"WATCHKEEPER_DB_URL": "postgresql+psycopg://wk@db/wk"})
    (var / "audit-checkpoints.log").write_text("third")
    assert [p.name for p in start_afresh(elsewhere)] == ["audit-checkpoints.log"]
