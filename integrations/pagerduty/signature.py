"""PagerDuty v3 webhook signatures (`X-PagerDuty-Signature`).

The header holds one or more comma-separated `v1=<hex>` values, each the HMAC-SHA256 of
the raw body under one of the subscription's secrets; several are sent while a secret is
being rotated. A delivery is authentic when any value matches any of our secrets. Values
of other versions are ignored, as PagerDuty's verification guide asks.
"""

from __future__ import annotations

from collections.abc import Sequence

from integrations.webhooks import any_equal, hmac_sha256_hex

HEADER = "X-PagerDuty-Signature"
VERSION = "v1="
# A real header has one or two values; a cap keeps a hostile one from costing much.
MAX_VALUES = 16


def signed_values(header: str) -> list[str]:
    parts = (p.strip() for p in header.split(",")[:MAX_VALUES])
    return [p[len(VERSION) :].lower() for p in parts if p.startswith(VERSION)]


def sign(body: bytes, secret: str) -> str:
    """The header value PagerDuty would send for one secret (tests and stand-ins)."""
    return VERSION + hmac_sha256_hex(secret, body)


def verify(body: bytes, header: str | None, secrets: Sequence[str]) -> bool:
    if not header or not secrets:
        return False
    offered = signed_values(header)
    if not offered:
        return False
    return any_equal((hmac_sha256_hex(s, body) for s in secrets), offered)
