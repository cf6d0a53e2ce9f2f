"""Who may post pages: the per-source checks of `app.yaml`'s `intake:` credentials.

A request passes when it satisfies any one configured credential (a bearer token, a
basic-auth user, an HMAC signature); every comparison is constant-time on digests, and
nothing here logs or returns a credential.
"""

from __future__ import annotations

import base64
import binascii

from starlette.datastructures import Headers

from bot.intake.config import GrafanaAuth, HmacAuth, SignedAuth, TokenAuth
from integrations.pagerduty import signature as pagerduty_signature
from integrations.webhooks import any_equal, verify_hmac

# Longer Authorization headers are not ours; refusing them early keeps the work bounded.
MAX_AUTHORIZATION = 4096


def _authorization(headers: Headers) -> tuple[str, str] | None:
    value = headers.get("authorization", "")
    if not value or len(value) > MAX_AUTHORIZATION:
        return None
    scheme, _, credentials = value.strip().partition(" ")
    return scheme.lower(), credentials.strip()


def _basic_pair(credentials: str) -> str | None:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return decoded if ":" in decoded else None


def token_authorized(headers: Headers, auth: TokenAuth) -> bool:
    found = _authorization(headers)
    if found is None:
        return False
    scheme, credentials = found
    if scheme == "bearer" and auth.bearer_tokens:
        return any_equal((t.get_secret_value() for t in auth.bearer_tokens), [credentials])
    if scheme == "basic" and auth.basic:
        pair = _basic_pair(credentials)
        expected = (f"{user}:{pw.get_secret_value()}" for user, pw in auth.basic.items())
        return pair is not None and any_equal(expected, [pair])
    return False


def hmac_authorized(headers: Headers, body: bytes, hmac: HmacAuth, now: float) -> bool:
    timestamp = None
    if hmac.timestamp_header is not None:
        timestamp = headers.get(hmac.timestamp_header)
        if timestamp is None:
            return False
    return verify_hmac(
        body,
        headers.get(hmac.header),
        [s.get_secret_value() for s in hmac.secrets],
        prefix=hmac.prefix,
        timestamp=timestamp,
        now=now,
        max_skew_seconds=hmac.max_skew_seconds,
    )


def authorized(
    headers: Headers, body: bytes, auth: TokenAuth | SignedAuth | GrafanaAuth, now: float
) -> bool:
    if token_authorized(headers, auth):
        return True
    signed = auth.hmac if isinstance(auth, SignedAuth | GrafanaAuth) else None
    return signed is not None and hmac_authorized(headers, body, signed, now)


def pagerduty_authorized(headers: Headers, body: bytes, secrets: list[str]) -> bool:
    header = headers.get(pagerduty_signature.HEADER)
    return pagerduty_signature.verify(body, header, secrets)
