"""Passwords inside URLs (`scheme://user:password@host`), found in one left-to-right pass.

A regular expression for this shape backtracks: each of its quantifiers can give back
what it took, and text with many `://`, `:` or long runs of letters and no `@` made the
engine retry from every position, quadratic in the length (a 35,000-character note held
the event loop for seconds). Here every character is looked at a bounded number of times:
the searches for the next `@` and the next space only move forward, and the stretches
read for schemes and user names never overlap.

The password runs from the first `:` of the user part to the first `@` before any
whitespace, as SQLAlchemy reads a database URL, so a password with `/` or `:` in it is
covered. A URL with an `@` later in its path (`http://h:80/x?to=a@b`) loses a little more
than its password: in an audit row, too much hidden is the safe mistake.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable

_SCHEME_CHARS = frozenset(string.ascii_letters + string.digits + "+.-")
_LETTERS = frozenset(string.ascii_letters)
_USER_END = re.compile(r"[/@:\s]")
_SPACE = re.compile(r"\s")


def redact_url_passwords(text: str, mask: str) -> str:
    """`text` with the password of every `scheme://user:password@` replaced by `mask`."""
    if "://" not in text:
        return text
    next_at = _forward_finder(lambda start: text.find("@", start))
    next_space = _forward_finder(lambda start: _found(_SPACE.search(text, start)))
    pieces: list[str] = []
    copied = 0  # text[:copied] is in pieces already
    pos = 0
    while (sep := text.find("://", pos)) != -1:
        pos = sep + 3
        if not _scheme_ends_at(text, sep):
            continue
        user_end = _USER_END.search(text, pos)
        if user_end is None or user_end.group() != ":":
            continue
        start = user_end.end()
        at = next_at(start)
        if at <= start:  # no `@` after the colon, or an empty password
            continue
        space = next_space(start)
        if space != -1 and space < at:
            continue
        pieces += (text[copied:start], mask)
        copied = pos = at
    pieces.append(text[copied:])
    return "".join(pieces)


def _scheme_ends_at(text: str, sep: int) -> bool:
    """Whether a scheme (a letter, then letters, digits, `+ . -`) ends right before `sep`.
    The walk back stops at the first letter or at a `:` or `/`, which separate the `://`s,
    so no character is walked over twice."""
    i = sep - 1
    while i >= 0 and text[i] in _SCHEME_CHARS:
        if text[i] in _LETTERS:
            return True
        i -= 1
    return False


def _found(match: re.Match[str] | None) -> int:
    return -1 if match is None else match.start()


def _forward_finder(find: Callable[[int], int]) -> Callable[[int], int]:
    """`find(start)` (the index of the next hit at or after `start`, or -1) for starts
    that never decrease, searching again only once `start` has passed the last hit."""
    last = -2  # nothing searched yet

    def next_from(start: int) -> int:
        nonlocal last
        if last == -2 or (last != -1 and last < start):
            last = find(start)
        return last

    return next_from
