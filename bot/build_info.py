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
        own, common = _git_dirs(git)
        head = (own / "HEAD").read_text().strip()
        if head.startswith("ref: "):
            ref = head[5:]
            loose = common / ref
            head = loose.read_text().strip() if loose.is_file() else _packed(common, ref) or ""
    except OSError:
        return None
    return head[:12] if _SHA.fullmatch(head) else None


def _git_dirs(git: Path) -> tuple[Path, Path]:
    """The checkout's own git directory (HEAD) and the one its refs are in: the same for
    a clone; for a `git worktree`, `.git` is a file naming its own directory, whose
    `commondir` names the repository's."""
    if not git.is_file():
        return git, git
    pointer = git.read_text().strip()
    if not pointer.startswith("gitdir: "):
        raise OSError(f"{git} is not a git pointer")
    own = (git.parent / pointer[8:]).resolve()
    common_file = own / "commondir"
    common = (own / common_file.read_text().strip()).resolve() if common_file.is_file() else own
    return own, common


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
