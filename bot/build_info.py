"""What build this process runs: the package version and, where known, the commit.

The commit comes from `WATCHKEEPER_COMMIT` (set by the image build) or, in a git
checkout, from `.git` read directly: no subprocess, so it costs nothing at start and
works where git is not installed. An installed wheel without the variable says
"unknown" rather than guessing.
"""

from __future__ import annotations

import os
import re
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
_SHA = re.compile(r"[0-9a-f]{40}")


@cache
def package_version() -> str:
    try:
        return version("watchkeeper")
    except PackageNotFoundError:
        return "0+unknown"


@cache
def commit() -> str:
    given = os.environ.get("WATCHKEEPER_COMMIT", "").strip()
    if given:
        return given[:40]
    return _checkout_commit(CHECKOUT / ".git") or "unknown"


def _checkout_commit(git: Path) -> str | None:
    try:
        head = (git / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            loose = git / ref
            head = loose.read_text().strip() if loose.is_file() else _packed(git, ref) or ""
    except OSError:
        return None
    return head[:12] if _SHA.fullmatch(head) else None


def _packed(git: Path, ref: str) -> str | None:
    try:
        lines = (git / "packed-refs").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        sha, _, name = line.partition(" ")
        if name == ref:
            return sha
    return None


def describe() -> str:
    return f"watchkeeper {package_version()} ({commit()})"
