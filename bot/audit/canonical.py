"""Canonical JSON and secret redaction for audit `params`.

Canonical means one byte string per value: keys sorted, no whitespace, UTF-8 kept as is
(not `\\u` escaped), no NaN. The chain hashes these bytes, so two writers (or a verifier in
another language) that agree on the value agree on the hash.

Secrets are removed before anything is hashed or stored: by key name (any word of the key
is `token`, `secret`, `password`, `key`, `credential`, ...), by type (`SecretStr`), and by
shape for values that are secrets whatever their key (Slack tokens, bearer headers, private
keys, passwords inside URLs). Each of these checks runs in time linear in the text: audit
params carry free text from outside (notes, page summaries) and redaction runs on the
event loop.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from pydantic import SecretBytes, SecretStr

from bot.audit.url_password import redact_url_passwords

REDACTED = "[redacted]"

SECRET_WORDS = frozenset(
    {
        "apikey",
        "auth",
        "authorization",
        "cookie",
        "credential",
        "credentials",
        "key",
        "passphrase",
        "passwd",
        "password",
        "pwd",
        "secret",
        "signature",
        "token",
    }
)
# Names that contain a secret word but identify rather than authenticate; redacting them
# would blind the reviewer (the idempotency key ties an audit row to its action).
NOT_SECRET = frozenset({"idempotency_key", "dedup_key", "key_id", "message_key", "thread_key"})

_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_SECRET_VALUE = re.compile(
    r"^(?:xox[abeoprs]-|xapp-|gh[pousr]_|glpat-)|^(?:bearer|basic)\s|-----BEGIN [A-Z ]*PRIVATE KEY",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    normalized = "_".join(w.lower() for w in _WORD.findall(name))
    if normalized in NOT_SECRET:
        return False
    return any(w in SECRET_WORDS or w.rstrip("s") in SECRET_WORDS for w in normalized.split("_"))


def redact_text(value: str) -> str:
    if _SECRET_VALUE.search(value):
        return REDACTED
    return redact_url_passwords(value, REDACTED)


def redact(value: Any) -> Any:
    """`value` with secrets replaced by `[redacted]`, as plain JSON-able data."""
    if isinstance(value, SecretStr | SecretBytes):
        return REDACTED
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"audit params keys must be strings, got {key!r}")
            out[key] = REDACTED if is_secret_name(key) and item is not None else redact(item)
        return out
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted((redact(item) for item in value), key=canonical_json)
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return redact(value.value)
    # Anything else could hide a secret in its str(); the caller must say what to record.
    raise TypeError(f"audit params cannot record a {type(value).__name__}")


def canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def canonical_params(params: Mapping[str, Any] | None) -> str:
    """What `audit_log.params` holds: the redacted parameters as canonical JSON."""
    return canonical_json(redact(dict(params or {})))
