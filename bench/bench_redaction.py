"""Redaction of audit text: the linear scan against the URL-password regex it replaced.

Same run, same machine, the same hostile inputs: text with no delimiters and a URL whose
password never ends, 35,000 characters each (the note that once froze the event loop for
8.9 s), and 1 MB for the scan alone (the regex would take over an hour there). The old
pattern is kept here, and only here, as the baseline.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

from bench.report import Figure, print_figures
from bot.audit.canonical import redact_text

TITLE = "Redaction: linear scan against the regex it replaced"
# bot/audit/canonical.py before the scan: backtracks quadratically on these shapes.
OLD_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/@:\s]*:)[^/@\s]+@", re.IGNORECASE)
SHAPES = {
    "no delimiters": "a" * 35_000,
    "a password that never ends": "a://b:" + "x" * 35_000,
}


def _old(text: str) -> str:
    return OLD_URL_PASSWORD.sub(r"\g<head>[redacted]@", text)


def _ms(redact: Callable[[str], str], text: str) -> float:
    started = time.perf_counter()
    redact(text)
    return (time.perf_counter() - started) * 1000


def run() -> Iterator[Figure]:
    for shape, text in SHAPES.items():
        yield Figure(
            f"35,000 characters, {shape}",
            _ms(redact_text, text),
            "ms",
            baseline_name="the old regex",
            baseline=_ms(_old, text),
            higher_is_better=False,
        )
    megabyte = "a://b:" * (2**20 // 6)
    yield Figure("1 MB of `a://b:`", _ms(redact_text, megabyte), "ms", higher_is_better=False)


if __name__ == "__main__":
    print_figures(TITLE, run())
