"""Benchmark figures, printed with their same-run baseline, and the docs/benchmarks.md report."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline: float | None = None
    target: str = ""
    # True when a bigger value is better (throughput); False for latencies and memory.
    higher_is_better: bool = True

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        assert self.baseline is not None
        return self.value / self.baseline


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def print_figures(title: str, figures: list[Figure]) -> None:
    print(f"\n== {title}")
    for f in figures:
        line = f"{f.name}: {_fmt(f.value)} {f.unit}"
        if f.baseline is not None:
            line += f"  | baseline {f.baseline_name}: {_fmt(f.baseline)} {f.unit}"
            line += f"  | ratio {f.ratio:.2f}" if f.ratio is not None else ""
        if f.target:
            line += f"  | target {f.target}"
        print(line, flush=True)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        mem = "unknown memory"
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, {mem}, {system}, Python {platform.python_version()}"


def write_report(sections: dict[str, list[Figure]], path: Path = REPORT) -> None:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = "unknown"
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (do not edit by hand). Each figure is printed beside a baseline",
        "measured in the same run on the same machine, because the machines are noisy; the",
        "ratio is figure / baseline.",
        "",
        f"- when: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit or 'unknown'}",
        f"- machine: {machine()}",
        "",
    ]
    for title, figures in sections.items():
        lines += [
            f"## {title}",
            "",
            "| figure | value | baseline | ratio | target |",
            "|---|---|---|---|---|",
        ]
        for f in figures:
            base = (
                f"{_fmt(f.baseline)} {f.unit} ({f.baseline_name})" if f.baseline is not None else ""
            )
            ratio = f"{f.ratio:.2f}" if f.ratio is not None else ""
            lines.append(f"| {f.name} | {_fmt(f.value)} {f.unit} | {base} | {ratio} | {f.target} |")
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
