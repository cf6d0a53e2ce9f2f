"""The published head log: the one place that writes and reads checkpoint lines.

The log (`audit.checkpoint_file`) holds one checkpoint per line, oldest first, each the
canonical JSON `{"at":...,"hash":...,"key_id":...,"seq":...}`; it is only ever appended to,
so it is the history of every head the bot published. Reading it is strict: a line that is
not exactly such an object, a file that holds none, or a file that cannot be read is an
error naming the file and the line. A log someone edited must fail the check, never be
skipped over.

A copy of the audit channel's history is other text around the same objects; it is read by
`scan_channel_copy`, which looks for the objects and skips the rest.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.audit.canonical import canonical_json

_HASH = re.compile(r"[0-9a-f]{64}")
_FIELDS = frozenset({"at", "hash", "key_id", "seq"})
# The schedule only needs the newest line; a checkpoint line is about 150 bytes.
_TAIL_BYTES = 4096


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    key_id: str
    # Position in the file it was read from (1-based); 0 when just published.
    number: int = 0

    def line(self) -> str:
        fields = {"at": self.at, "hash": self.hash, "key_id": self.key_id, "seq": self.seq}
        return canonical_json(fields)

    def label(self) -> str:
        number = f"#{self.number} " if self.number else ""
        return f"{number}(seq {self.seq}, published {self.at})"


class PublishedLogUnreadable(Exception):
    """The configured checkpoint file is missing, unreadable, empty or not a checkpoint log."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"audit checkpoint file {path}: {reason}")
        self.path = path
        self.reason = reason


def _checkpoint(data: Any, number: int) -> Checkpoint:
    """The checkpoint `data` (a decoded JSON value) holds; ValueError naming what is wrong."""
    if not isinstance(data, dict) or set(data) != _FIELDS:
        raise ValueError('not a checkpoint object {"at","hash","key_id","seq"}')
    seq, hash_, at, key_id = data["seq"], data["hash"], data["at"], data["key_id"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ValueError(f"seq {seq!r} is not a row number")
    if not isinstance(hash_, str) or not _HASH.fullmatch(hash_):
        raise ValueError("hash is not 64 lowercase hex digits")
    if not isinstance(at, str) or not isinstance(key_id, str):
        raise ValueError("at and key_id must be strings")
    return Checkpoint(seq=seq, hash=hash_, at=at, key_id=key_id, number=number)


def parse_published(lines: Iterable[str], path: Path) -> list[Checkpoint]:
    """Every checkpoint of a published log, strictly: any other line is an error."""
    found: list[Checkpoint] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            found.append(_checkpoint(json.loads(line), len(found) + 1))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            reason = f"line {number} is not a checkpoint ({exc})"
            raise PublishedLogUnreadable(path, reason) from None
    if not found:
        raise PublishedLogUnreadable(path, "holds no checkpoint")
    return found


def read_published(path: Path) -> list[Checkpoint]:
    """The whole published log at `path`; `PublishedLogUnreadable` for anything else."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PublishedLogUnreadable(path, "does not exist") from None
    except UnicodeDecodeError:
        raise PublishedLogUnreadable(path, "is not UTF-8 text") from None
    except OSError as exc:
        raise PublishedLogUnreadable(path, f"cannot be read ({exc.strerror or exc})") from None
    return parse_published(text.splitlines(), path)


def last_published(path: Path) -> Checkpoint | None:
    """The newest checkpoint in the log, read from its tail; None when there is no log yet."""
    try:
        with path.open("rb") as f:
            start = max(0, f.seek(0, os.SEEK_END) - _TAIL_BYTES)
            f.seek(start)
            tail = f.read().decode("utf-8", errors="strict").splitlines()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise PublishedLogUnreadable(path, f"cannot be read ({exc})") from None
    # A tail read mid-file starts inside a line: that first piece is not judged.
    lines = [line for line in (tail[1:] if start else tail) if line.strip()]
    if not lines:
        if start:
            raise PublishedLogUnreadable(path, "its last 4 KB hold no complete line")
        return None  # created but empty: nothing published yet
    return parse_published(lines[-1:], path)[-1]


def append_published(path: Path, checkpoint: Checkpoint) -> None:
    """Append one line, durably: one `write` on an O_APPEND descriptor (so a concurrent
    appender never interleaves inside it), then fsync of the file and, when it was just
    created, of its folder (so the file itself survives a crash)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    data = (checkpoint.line() + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(f"short write to {path}: {written} of {len(data)} bytes")
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def scan_channel_copy(lines: Iterable[str]) -> list[Checkpoint]:
    """Checkpoints found in a copy of the audit channel's history; other text is skipped."""
    found: list[Checkpoint] = []
    for line in lines:
        start, end = line.find('{"'), line.rfind("}")
        if start < 0 or end < start:
            continue
        try:
            found.append(_checkpoint(json.loads(line[start : end + 1]), len(found) + 1))
        except ValueError:
            continue
    return found
