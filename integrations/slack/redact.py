"""Slack URLs that are credentials, taken out of text meant for logs.

A `response_url` lets whoever holds it post as the app to the user or channel it was
issued for, for half an hour; an incoming-webhook URL does the same, forever. Both live
under `https://hooks.slack.com/`. The local stand-in hands out `<base>/response/<token>`.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"
# The path after its first segment (`commands/`, `actions/`, `services/` ...) is the
# credential; the first segment stays, so a log still says what kind of URL was called.
_SLACK_HOOK = re.compile(r"(hooks\.slack\.com/[A-Za-z]+/)[^\s\"'<>\\]+")
_STANDIN_RESPONSE = re.compile(r"(/response/)[A-Za-z0-9]+")


def redact_credential_urls(text: str) -> str:
    """`text` with the secret part of every response_url and webhook URL replaced."""
    text = _SLACK_HOOK.sub(rf"\g<1>{REDACTED}", text)
    return _STANDIN_RESPONSE.sub(rf"\g<1>{REDACTED}", text)
