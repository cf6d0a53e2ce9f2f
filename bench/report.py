"""Benchmark figures, printed with their same-run baseline, and the docs/benchmarks.md report."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


@dataclass(frozen=True)
class Target:
    """A bound on a figure's value, or on its ratio to the baseline when `of_baseline`.
    Which side of the bound is good follows the figure's `higher_is_better`."""

    bound: float
    of_baseline: bool = False


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline: float | None = None
    target: Target | None = None
    # True when a bigger value is better (throughput); False for latencies and memory.
    higher_is_better: bool = True

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        assert self.baseline is not None
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        """Whether the target is met; None without a target, or without the baseline a
        ratio target needs."""
        if self.target is None:
            return None
        measured = self.ratio if self.target.of_baseline else self.value
        if measured is None:
            return None
        if self.higher_is_better:
            return measured >= self.target.bound
        return measured <= self.target.bound

    def target_text(self) -> str:
        if self.target is None:
            return ""
        side = "≥" if self.higher_is_better else "≤"
        if self.target.of_baseline:
            return f"{side} {self.target.bound:g}× baseline"
        return f"{side} {_fmt(self.target.bound)} {self.unit}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Figure:
        target = raw.get("target")
        return cls(**{**raw, "target": Target(**target) if target else None})


@dataclass
class Section:
    """One benchmark module's part of the report: its figures, or why it has none."""

    module: str
    title: str
    seconds: float
    figures: list[Figure] = field(default_factory=list)
    failure: str = ""


def _fmt(value: float) -> str:
    whole = not math.isfinite(value) or abs(value) >= 100 or float(value).is_integer()
    return f"{value:,.0f}" if whole else f"{value:,.2f}"


def _verdict(f: Figure) -> str:
    return {True: "met", False: "**not met**", None: ""}[f.met]


def figure_line(f: Figure) -> str:
    line = f"{f.name}: {_fmt(f.value)} {f.unit}"
    if f.baseline is not None:
        line += f"  | baseline {f.baseline_name}: {_fmt(f.baseline)} {f.unit}"
        line += f"  | ratio {f.ratio:.2f}" if f.ratio is not None else ""
    if f.target is not None:
        line += f"  | target {f.target_text()}: {_verdict(f)}"
    return line


def print_figures(title: str, figures: Iterable[Figure]) -> None:
    print(f"\n== {title}", flush=True)
    for f in figures:
        print(figure_line(f), flush=True)


def _table(figures: list[Figure]) -> list[str]:
    lines = [
        "| figure | value | baseline (same run) | ratio | target | |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        base = f"{_fmt(f.baseline)} {f.unit} ({f.baseline_name})" if f.baseline is not None else ""
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else ""
        lines.append(
            f"| {f.name} | {_fmt(f.value)} {f.unit} | {base} | {ratio} | {f.target_text()} "
            f"| {_verdict(f)} |"
        )
    return lines


def _summary(sections: list[Section]) -> list[str]:
    with_target = [(s, f) for s in sections for f in s.figures if f.target is not None]
    missed = [f"{f.name} ({s.module})" for s, f in with_target if f.met is False]
    failed = [s.module for s in sections if s.failure]
    lines = [f"- targets met: {sum(f.met is True for _, f in with_target)} of {len(with_target)}"]
    lines.append(f"- targets not met: {', '.join(missed) if missed else 'none'}")
    lines.append(f"- modules that failed: {', '.join(failed) if failed else 'none'}")
    return lines


def write_report(
    sections: list[Section], facts: dict[str, str], path: Path = REPORT, preface: str = ""
) -> None:
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench.run_all`); do not edit by hand. Each figure",
        "sits beside a baseline measured in the same run on the same machine, because machines",
        "are noisy; the ratio is figure / baseline. Each module runs in a process of its own,",
        "one after the other, so one that fails loses only its own figures.",
        "",
    ]
    if preface:
        lines += [preface, ""]
    lines += ["## Machine and run", ""]
    lines += [f"- {name}: {value}" for name, value in facts.items()]
    lines += ["", *_summary(sections), ""]
    for s in sections:
        lines += [f"## {s.title}", "", f"`{s.module}`, {s.seconds:.0f} s.", ""]
        if s.failure:
            lines += ["**Failed**; the figures measured before the failure are below, if any:", ""]
            lines += ["```", s.failure.rstrip(), "```", ""]
        if s.figures:
            lines += [*_table(s.figures), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
