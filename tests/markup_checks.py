"""Checks on what the bot sent to Slack: no markup from outside survives in it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from standins.slack.models import Call

# What makes text act in Slack mrkdwn: special mentions, user, channel and group
# mentions, and links.
LIVE_MARKUP = ("<!", "<@", "<#", "<http")


def sent_text(calls: Iterable[Call]) -> str:
    """Every string of every call's payload (texts, blocks, fallbacks), one per line."""
    out: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for call in calls:
        payload = call.payload
        # Some clients send blocks as a JSON string: read them as the structure they are.
        for key in ("blocks", "attachments"):
            if isinstance(payload.get(key), str):
                payload = {**payload, key: json.loads(payload[key])}
        walk(payload)
    return "\n".join(out)


def assert_no_outside_markup(calls: Sequence[Call], outside_strings: Iterable[str]) -> None:
    """No string from outside reached Slack with its markup live: each of them, where it
    contains `<!`, `<@`, `<#` or `<http`, does not appear raw in any call, and neither does
    any such sequence of it."""
    text = sent_text(calls)
    for outside in outside_strings:
        if any(marker in outside for marker in LIVE_MARKUP):
            assert outside not in text, f"raw outside text reached Slack: {outside!r}"
        start = 0
        while (at := outside.find("<", start)) >= 0:
            end = outside.find(">", at)
            sequence = outside[at : end + 1] if end >= 0 else outside[at:]
            if sequence.startswith(LIVE_MARKUP):
                assert sequence not in text, f"live markup from outside: {sequence!r}"
            start = at + 1
