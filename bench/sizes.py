"""How big the benchmarks are: `BENCH_SCALE` (default 1) shrinks every size and duration.

`make bench` runs at scale 1, the sizes the targets are stated for. A smaller scale
(`python -m bench.run_all --quick`) is a smoke run: every module runs end to end on small
sizes, its figures are not comparable with the full run's, and the report says so.
"""

from __future__ import annotations

import os

SCALE = float(os.environ.get("BENCH_SCALE", "1"))

# The PostgreSQL server the benchmarks create their throwaway databases on.
PG_ADMIN = os.environ.get(
    "WATCHKEEPER_BENCH_PG",
    os.environ.get("WATCHKEEPER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"),
)


def scaled(full: float, smallest: float) -> float:
    """`full` at scale 1, shrunk with BENCH_SCALE but never below `smallest`."""
    return max(smallest, full * SCALE)


def scaled_count(full: int, smallest: int) -> int:
    return int(scaled(full, smallest))
