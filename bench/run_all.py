"""`make bench`: run every benchmark in bench/ and rewrite docs/benchmarks.md."""

from __future__ import annotations

import importlib
import sys

from bench.report import Figure, print_figures, write_report

# Each module has `TITLE` and `run() -> list[Figure]`.
BENCHMARKS = [
    "bench.bench_ack",
    "bench.bench_intake",
    "bench.bench_actions",
    "bench.bench_storm",
    "bench.bench_audit",
    "bench.bench_handoff",
]


def main() -> int:
    sections: dict[str, list[Figure]] = {}
    for name in BENCHMARKS:
        module = importlib.import_module(name)
        figures = module.run()
        print_figures(module.TITLE, figures)
        sections[module.TITLE] = figures
    write_report(sections)
    print("\nwrote docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
