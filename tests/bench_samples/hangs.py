"""Never yields: stands for a module stuck on a lock."""

import time
from collections.abc import Iterator

from bench.report import Figure

TITLE = "Sample that hangs"


def run() -> Iterator[Figure]:
    time.sleep(600)
    yield Figure("never", 0.0, "ms")
