"""Raises before measuring anything."""

from collections.abc import Iterator

from bench.report import Figure

TITLE = "Sample that raises"


def run() -> Iterator[Figure]:
    raise RuntimeError("verify did not pass: 3 rows altered")
    yield Figure("never", 0.0, "ms")
