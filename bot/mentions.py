"""Slack mrkdwn from text we did not write: escaped, so page fields, labels, notes and
names from payloads are shown as typed and never act as markup (`<!channel>`, `<@U…>`,
`<#C…>`, `<!subteam^…>`, `<http://evil|docs>`). See docs/security.md.

The only live mentions the bot sends are made here, from ids that are checked whole:
`mention_user` and `mention_group` (and `mention`, which picks between them). Everything
else that reaches mrkdwn from outside goes through `escape` or `code`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
_GROUP_ID = re.compile(r"S[A-Z0-9]{2,20}")
# Slack's own escaping for mrkdwn: these three are the only characters it asks for.
_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# A backtick would close inline code early; the modifier grave accent looks the same.
_BACKTICK = str.maketrans({"`": "ˋ"})


def escape(text: str) -> str:
    """`text` for mrkdwn, shown as typed: `&`, `<` and `>` as Slack's entities."""
    return text.translate(_ENTITIES)


def code(text: str) -> str:
    """`text` as inline code, escaped, with no backtick that could end the code early."""
    return f"`{escape(text.translate(_BACKTICK))}`"


def is_user_id(value: str) -> bool:
    return _USER_ID.fullmatch(value) is not None


def is_group_id(value: str) -> bool:
    return _GROUP_ID.fullmatch(value) is not None


_GROUP_MENTION = re.compile(r"<!subteam\^(S[A-Z0-9]{2,20})>")


def mentioned_groups(text: str) -> list[str]:
    """The user groups a mention text made here names (e.g. an incident's stored mentions)."""
    return _GROUP_MENTION.findall(text)


_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})>")


def mentioned_users(text: str) -> list[str]:
    """The users a mention text made here names (e.g. an incident's stored mentions)."""
    return _USER_MENTION.findall(text)


def mention_user(user_id: str) -> str:
    """A live `<@U…>` mention; an id that is not one is shown as escaped code instead."""
    return f"<@{user_id}>" if is_user_id(user_id) else code(user_id)


def mention_group(group_id: str) -> str:
    """A live `<!subteam^S…>` mention of a user group; anything else as escaped code."""
    return f"<!subteam^{group_id}>" if _GROUP_ID.fullmatch(group_id) else code(group_id)


def mention(target: str) -> str:
    """A user (U…/W…) or a user group (S…), as configured for routes and rotations."""
    return mention_group(target) if target.startswith("S") else mention_user(target)


def mentions(targets: Iterable[str]) -> str:
    return " ".join(mention(t) for t in targets)
