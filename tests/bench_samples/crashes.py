"""Yields one figure, then the process dies without a word from Python."""

import os
import sys
from collections.abc import Iterator

from bench.report import Figure

TITLE = "Sample that crashes"


def run() -> Iterator[Figure]:
    yield Figure("measured before the crash", 42.0, "ms")
    print("the database went away", file=sys.stderr, flush=True)
    os._exit(3)
