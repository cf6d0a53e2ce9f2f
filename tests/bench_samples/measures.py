"""Yields two figures, one meeting its target and one missing it."""

from collections.abc import Iterator

from bench.report import Figure, Target

TITLE = "Sample that measures"


def run() -> Iterator[Figure]:
    yield Figure("fast thing", 20.0, "ms", "bare thing", 10.0, Target(1.5, of_baseline=True),
                 higher_is_better=False)  # fmt: skip
    yield Figure("rate", 150_000.0, "rows/s", "HMAC alone", 300_000.0, Target(200_000))
