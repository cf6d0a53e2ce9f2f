"""Slack request signing (v0), checked before any parsing of the body.

Bolt checks signatures too, but crashes on a non-numeric timestamp; this check is strict
about every header's shape so hostile input gets a 401, never a 500.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping

from integrations.slack.signing import sign

MAX_SKEW_SECONDS = 300
_TIMESTAMP = re.compile(r"\d{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def signature_problem(
    secret: str, headers: Mapping[str, str], body: bytes, now: float
) -> str | None:
    """None when the request is Slack's; else a short reason (for logs, not for the caller)."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not _TIMESTAMP.fullmatch(timestamp):
        return "missing or malformed timestamp"
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        return "stale timestamp"
    if not _SIGNATURE.fullmatch(signature):
        return "missing or malformed signature"
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        return "signature mismatch"
    return None
