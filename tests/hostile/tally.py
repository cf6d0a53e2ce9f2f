"""What the hostile-input suite tried, per surface: inputs, 5xx answers, state changed by
an unauthenticated request or a fleet action run for a user without a role, examples over
the time budget, and outside markup that reached Slack. One JSON file per test module;
the session's summary (tests/hostile/conftest.py) adds them up for docs/security.md."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

TIME_BUDGET_SECONDS = 2.0
FIGURES_DIR = "hostile-figures"
RUN_STARTED = pytest.StashKey[float]()


@dataclass
class Figures:
    tried: int = 0
    five_xx: int = 0
    unauthorized_changes: int = 0
    over_time_budget: int = 0
    markup_leaks: int = 0

    def add(self, other: Figures) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class Tally:
    surfaces: dict[str, Figures] = field(default_factory=dict)

    def record(
        self,
        surface: str,
        *,
        status: int,
        seconds: float,
        unauthorized_change: bool = False,
        markup_leaked: bool = False,
    ) -> None:
        figures = self.surfaces.setdefault(surface, Figures())
        figures.tried += 1
        figures.five_xx += status >= 500
        figures.unauthorized_changes += unauthorized_change
        figures.over_time_budget += seconds > TIME_BUDGET_SECONDS
        figures.markup_leaks += markup_leaked

    def write(self, path: Path) -> None:
        path.write_text(json.dumps({k: asdict(v) for k, v in self.surfaces.items()}, indent=1))


def read_all(paths: list[Path]) -> dict[str, Figures]:
    """The figures of several modules' files, added up per surface."""
    total: dict[str, Figures] = {}
    for path in paths:
        for surface, raw in json.loads(path.read_text()).items():
            total.setdefault(surface, Figures()).add(Figures(**raw))
    return dict(sorted(total.items()))


def table(figures: dict[str, Figures]) -> list[str]:
    """The figures as the Markdown table docs/security.md shows."""
    lines = [
        "| surface | inputs tried | 5xx | unauthorized changes | over 2 s "
        "| outside markup in Slack |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    everything = Figures()
    for surface, f in figures.items():
        everything.add(f)
        lines.append(
            f"| {surface} | {f.tried} | {f.five_xx} | {f.unauthorized_changes} "
            f"| {f.over_time_budget} | {f.markup_leaks} |"
        )
    e = everything
    lines.append(
        f"| **all** | {e.tried} | {e.five_xx} | {e.unauthorized_changes} "
        f"| {e.over_time_budget} | {e.markup_leaks} |"
    )
    return lines


def figures_dir(config: pytest.Config) -> Path:
    assert config.cache is not None
    return config.cache.mkdir(FIGURES_DIR)


def mark_run_start(config: pytest.Config) -> None:
    config.stash[RUN_STARTED] = time.time()


def print_summary(reporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The figures of the modules this run went through, added up per surface."""
    if hasattr(config, "workerinput") or config.cache is None:
        return  # under xdist the workers wrote the files; the controller prints them once
    started = config.stash.get(RUN_STARTED, 0.0)
    files = [p for p in sorted(figures_dir(config).glob("*.json")) if p.stat().st_mtime >= started]
    if not files:
        return
    reporter.section("hostile-input suite")
    for line in table(read_all(files)):
        reporter.write_line(line)
    reporter.write_line(f"(one file per module in {files[0].parent})")
