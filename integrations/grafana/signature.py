"""Grafana's optional webhook HMAC (contact point setting "HMAC Signature", Grafana 12+).

Grafana sends `hex(HMAC-SHA256(secret, body))` in a header (`X-Grafana-Alerting-Signature`
unless configured otherwise). When the contact point also names a timestamp header,
Grafana puts the Unix time in it and signs `timestamp + ":" + body` instead, so a
receiver can refuse old deliveries replayed by someone who recorded one.
"""

from __future__ import annotations

from collections.abc import Sequence

from integrations.webhooks import hmac_sha256_hex, verify_hmac

DEFAULT_HEADER = "X-Grafana-Alerting-Signature"


def sign(body: bytes, secret: str, timestamp: str | None = None) -> str:
    """The header value Grafana would send (tests and stand-ins)."""
    if timestamp is None:
        return hmac_sha256_hex(secret, body)
    return hmac_sha256_hex(secret, timestamp.encode("ascii"), b":", body)


def verify(
    body: bytes,
    signature: str | None,
    secrets: Sequence[str],
    *,
    timestamp: str | None = None,
    now: float,
    max_skew_seconds: float = 300.0,
) -> bool:
    return verify_hmac(
        body,
        signature,
        secrets,
        timestamp=timestamp,
        now=now,
        max_skew_seconds=max_skew_seconds,
    )
