"""Outside markup in what the bot sends to Slack.

The suite plants these sequences in everything that comes from outside (page fields,
labels, command text, user names). Slack renders them live in mrkdwn: a channel-wide
ping, a user or group mention, a channel link, a disguised link. None of them may reach a
Slack call raw; escaped (`&lt;!channel&gt;`) they are shown as text. The bot's own
markup (`<!date^…>`, its mentions of on-call people) never uses these names.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

PLANTED = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@UEVIL0001>",
    "<#CEVIL0001>",
    "<!subteam^SEVIL0001>",
    "<http://evil.example/login|docs>",
)
# What makes each of them live, so a cut-off copy (`<!chan`) still counts.
_LIVE = (
    "<!channel",
    "<!here",
    "<!everyone",
    "<@UEVIL",
    "<#CEVIL",
    "<!subteam^SEVIL",
    "<http://evil.",
)


def outside_markup(value: Any) -> list[str]:
    """The planted sequences found raw in `value` (a Slack call's JSON payload), outside
    `plain_text` objects (Slack never renders markup there)."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, str):
            found.update(live for live in _LIVE if live in node)
        elif isinstance(node, dict):
            if node.get("type") == "plain_text":
                return
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(value)
    return sorted(found)


planted = st.sampled_from(PLANTED)
controls = st.text(
    st.characters(max_codepoint=0x1F) | st.sampled_from("\x7f\u202e\u200b\ufeff"), max_size=10
)
_pieces = st.lists(
    planted | st.text(max_size=30) | controls | st.just("\x00") | st.sampled_from("&<>|*_~`"),
    max_size=4,
).map("".join)
# Text as an attacker writes it: planted markup between arbitrary, control and NUL text.
marked_text = st.tuples(_pieces, planted, _pieces).map("".join)
