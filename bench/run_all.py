"""`make bench`: run every benchmark in bench/ and rewrite docs/benchmarks.md.

    python -m bench.run_all [--quick] [--scale S] [--out PATH] [--only MODULE ...]

Each module runs in a child process of its own (`--module NAME FIGURES`), one after the
other: its memory figures are its own, and a module that raises, crashes or overruns its
time loses only the figures it had not yet measured; the report says which failed and why.
`--quick` is a smoke run (BENCH_SCALE 0.01, report written to a temporary file unless
`--out` says where).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterable
from pathlib import Path

from bench.report import REPORT, Figure, Section, figure_line, write_report

ROOT = Path(__file__).resolve().parent.parent
# Each module has `TITLE` and `run() -> Iterable[Figure]`, yielding figures as measured.
BENCHMARKS = [
    "bench.bench_ack",
    "bench.bench_views",
    "bench.bench_socket",
    "bench.bench_intake",
    "bench.bench_actions",
    "bench.bench_storm",
    "bench.bench_audit",
    "bench.bench_handoff",
    "bench.bench_redaction",
    "bench.bench_find",
    "bench.bench_fleet_redis",
    "bench.bench_kafka",
    "bench.bench_fleet_status",
]
QUICK_SCALE = 0.01
# Far above any module's full-scale run; a module past it is stuck, not slow.
MODULE_TIMEOUT = float(os.environ.get("BENCH_MODULE_TIMEOUT", "900"))
FAILURE_LINES = 15


def _child(module_name: str, figures_path: Path) -> int:
    """In the child: run one module, appending each figure to `figures_path` as it comes."""
    module = importlib.import_module(module_name)
    with figures_path.open("a") as out:
        out.write(json.dumps({"title": module.TITLE}) + "\n")
        out.flush()
        print(f"\n== {module.TITLE}", flush=True)
        figures: Iterable[Figure] = module.run()
        for figure in figures:
            print(figure_line(figure), flush=True)
            out.write(json.dumps(figure.to_json()) + "\n")
            out.flush()
    return 0


def _read_figures(path: Path, module_name: str) -> tuple[str, list[Figure]]:
    title = module_name
    figures: list[Figure] = []
    if not path.exists():
        return title, figures
    for line in path.read_text().splitlines():
        try:
            raw = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a crash
        if "title" in raw:
            title = raw["title"]
        else:
            figures.append(Figure.from_json(raw))
    return title, figures


def run_module(module_name: str, env: dict[str, str], timeout: float) -> Section:
    """Run one module in a child process; its figures, or why it failed, as a Section."""
    with tempfile.TemporaryDirectory() as tmp:
        figures_path, errors_path = Path(tmp) / "figures.jsonl", Path(tmp) / "stderr.txt"
        command = [sys.executable, "-m", "bench.run_all", "--module", module_name]
        started = time.monotonic()
        failure = ""
        with errors_path.open("w") as errors:
            child = subprocess.Popen(
                [*command, str(figures_path)], cwd=ROOT, env=env, stderr=errors
            )
            try:
                code = child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
                code = None
                failure = f"stopped after {timeout:.0f} s (BENCH_MODULE_TIMEOUT)\n"
        seconds = time.monotonic() - started
        if code:
            failure = f"exited with {code}\n"
        if failure:
            tail = errors_path.read_text().splitlines()[-FAILURE_LINES:]
            failure += "\n".join(tail)
            print(f"\n!! {module_name} failed: {failure}", file=sys.stderr, flush=True)
        title, figures = _read_figures(figures_path, module_name)
    return Section(module_name, title, seconds, figures, failure)


def _preface(scale: float) -> str:
    if scale == 1:
        return ""
    return (
        f"**Smoke run at BENCH_SCALE {scale:g}**: sizes and durations are shrunk, so these "
        "figures are not comparable with a full run's and the targets do not apply."
    )


def _noise(load_at_start: float) -> str:
    """A warning when other work already kept the machine's cores busy at the start."""
    cores = os.cpu_count() or 1
    if load_at_start < cores / 2:
        return ""
    return (
        f"**Noisy run**: the load average was {load_at_start:.2f} on {cores} cores when it "
        "started, so other work ran beside the benchmarks. The ratios to same-run baselines "
        "hold up better than the absolute figures, but tail latencies (p99) move with the load."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run_all")
    parser.add_argument("--quick", action="store_true", help=f"BENCH_SCALE {QUICK_SCALE}")
    parser.add_argument("--scale", type=float, help="shrink sizes and durations (default 1)")
    parser.add_argument("--out", type=Path, help="where the report goes")
    parser.add_argument("--only", nargs="+", metavar="MODULE", help="run these modules only")
    parser.add_argument("--module", nargs=2, metavar=("NAME", "FIGURES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.module:
        try:
            return _child(args.module[0], Path(args.module[1]))
        except Exception:
            traceback.print_exc()
            return 1
    scale = args.scale or (QUICK_SCALE if args.quick else float(os.environ.get("BENCH_SCALE", "1")))
    out = args.out or (Path(tempfile.mkdtemp()) / "benchmarks.md" if scale != 1 else REPORT)
    env = {**os.environ, "BENCH_SCALE": str(scale)}
    return run(args.only or BENCHMARKS, env, out, scale, MODULE_TIMEOUT)


def run(modules: list[str], env: dict[str, str], out: Path, scale: float, timeout: float) -> int:
    # Imported here: the child processes do not need the machine's facts.
    from datetime import UTC, datetime

    from bench import machine

    started, load_before = datetime.now(UTC), machine.load_average()
    load_at_start = os.getloadavg()[0]
    facts = machine.facts()  # before the run: the commit measured, not one made meanwhile
    sections = [run_module(name, env, timeout) for name in modules]
    took = (datetime.now(UTC) - started).total_seconds()
    facts |= {
        "run": f"{started:%Y-%m-%d %H:%M} UTC, {took / 60:.1f} min, BENCH_SCALE {scale:g}",
        "load average (1/5/15 min)": f"{load_before} at the start, "
        f"{machine.load_average()} at the end (the machine has {os.cpu_count()} cores)",
    }
    preface = "\n\n".join(filter(None, [_preface(scale), _noise(load_at_start)]))
    write_report(sections, facts, out, preface)
    print(f"\nwrote {out}")
    return 1 if any(s.failure for s in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
