"""`make bench`'s runner and report: each module in its own process, a failing one
reported with its reason and the figures it measured first, the others kept."""

from __future__ import annotations

import os
from pathlib import Path

from bench.report import Figure, Target
from bench.run_all import _noise, run

SAMPLES = "tests.bench_samples"


def test_a_target_is_met_on_the_figures_good_side() -> None:
    latency = Figure("p99", 30.0, "ms", "bare", 20.0, Target(1.5, of_baseline=True),
                     higher_is_better=False)  # fmt: skip
    assert latency.met is True and latency.target_text() == "≤ 1.5× baseline"
    slower = Figure("p99", 31.0, "ms", "bare", 20.0, Target(1.5, of_baseline=True),
                    higher_is_better=False)  # fmt: skip
    assert slower.met is False
    rate = Figure("verify", 199_999.0, "rows/s", target=Target(200_000))
    assert rate.met is False and rate.target_text() == "≥ 200,000 rows/s"
    no_baseline = Figure("alerts/s", 500.0, "alerts/s", target=Target(1.0, of_baseline=True))
    assert no_baseline.met is None
    assert Figure.from_json(latency.to_json()) == latency


def test_one_module_failing_keeps_the_others_figures(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    modules = [f"{SAMPLES}.{name}" for name in ("crashes", "raises", "hangs", "measures")]
    env = {**os.environ, "BENCH_SCALE": "1"}

    code = run(modules, env, out, scale=1, timeout=4)

    assert code == 1
    report = out.read_text()
    crashed = report.split("## Sample that crashes")[1].split("## ")[0]
    assert "**Failed**" in crashed and "exited with 3" in crashed
    assert "the database went away" in crashed
    assert "| measured before the crash | 42 ms |" in crashed
    raised = report.split("## Sample that raises")[1].split("## ")[0]
    assert "RuntimeError: verify did not pass: 3 rows altered" in raised
    hung = report.split("## Sample that hangs")[1].split("## ")[0]
    assert "stopped after 4 s" in hung
    measured = report.split("## Sample that measures")[1]
    assert "| fast thing | 20 ms | 10 ms (bare thing) | 2.00 | ≤ 1.5× baseline | **not met** |" in (
        measured
    )
    assert "| ≥ 200,000 rows/s | **not met** |" in measured
    assert "- modules that failed: " + ", ".join(modules[:3]) in report
    assert "- targets met: 0 of 2" in report
    for fact in ("- CPU: ", "- PostgreSQL: ", "- SQLite: ", "- commit: ", "- load average"):
        assert fact in report


def test_the_report_warns_when_other_work_kept_the_cores_busy() -> None:
    cores = os.cpu_count() or 1
    assert "Noisy run" in _noise(cores * 1.0)
    assert _noise(cores / 4) == ""
