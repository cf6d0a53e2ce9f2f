"""Slack user ids and mentions as people type them in commands (`<@U123|bob>`, `@U123`,
`U123`). Always matched whole (`fullmatch`): with `^...$` and `match`, `$` also matches
before a trailing newline, and `"U123\\n"` would pass for an id."""

from __future__ import annotations

import re

USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_BARE = re.compile(r"@?([UW][A-Z0-9]{2,})")


def is_user_id(word: str) -> bool:
    return USER_ID.fullmatch(word) is not None


def mentioned_user(word: str) -> str | None:
    """The user id of a Slack mention (`<@U123>` or `<@U123|bob>`), else None."""
    found = _MENTION.fullmatch(word)
    return found.group(1) if found else None


def named_user(word: str) -> str | None:
    """The user id a command word names: a mention, `@U123` or `U123`; else None."""
    found = _BARE.fullmatch(word)
    return found.group(1) if found else mentioned_user(word)
