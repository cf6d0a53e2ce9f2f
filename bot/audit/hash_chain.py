"""The hash chain: `hash = HMAC-SHA256(key, prev_hash || canonical(row))`.

`canonical(row)` is the canonical JSON object of the row's fields except the two hashes:
`action, actor, actor_name, at, key_id, outcome, params, ref, seq, target` (sorted), with
`params` embedded as the JSON it is stored as and `at` as ISO 8601 UTC with microseconds
(`2024-05-01T03:12:00.123456Z`).
`prev_hash` is the previous row's `hash` (64 hex digits; all zeros before the first row).

The key stays in the process; rows carry only `key_id`, a fingerprint of the key, so a
verifier holding several keys (after a rotation) knows which one signed each row.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring as _quote
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _hashlib import HASH

    from bot.audit.config import AuditConfig

MIN_KEY_LENGTH = 16
_KEY_ID_LABEL = b"watchkeeper audit key id"


class AuditKeyMissing(Exception):
    """`audit.key` is not configured: nothing can be appended or verified."""


def at_text(at: datetime) -> str:
    """How `at` enters the hash: ISO 8601, UTC, always with microseconds, `Z`."""
    if at.tzinfo is None:
        raise ValueError("audit time must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_text(
    seq: int,
    at: str,
    actor: str,
    actor_name: str,
    action: str,
    target: str,
    params: str,
    outcome: str,
    ref: str | None,
    key_id: str,
) -> str:
    """canonical(row); built by hand because verify calls it once per row, and
    `json.dumps` of a dict is several times slower (tests pin the two as equal)."""
    ref_json = "null" if ref is None else _quote(ref)
    return (
        f'{{"action":{_quote(action)},"actor":{_quote(actor)},'
        f'"actor_name":{_quote(actor_name)},"at":{_quote(at)},"key_id":{_quote(key_id)},'
        f'"outcome":{_quote(outcome)},"params":{params},"ref":{ref_json},"seq":{seq},'
        f'"target":{_quote(target)}}}'
    )


class ChainKey:
    """One HMAC-SHA256 key, with the pads pre-hashed: verify pays two hash copies a row."""

    __slots__ = ("_inner", "_outer", "key_id")

    def __init__(self, secret: str | bytes) -> None:
        raw = secret.encode("utf-8") if isinstance(secret, str) else secret
        if len(raw) < MIN_KEY_LENGTH:
            raise ValueError(f"an audit key needs at least {MIN_KEY_LENGTH} bytes")
        # RFC 2104, precomputed: a key longer than the block is hashed first, then padded.
        block = hashlib.sha256(raw).digest() if len(raw) > 64 else raw
        block = block.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        self.key_id = hmac.new(raw, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"ChainKey(key_id={self.key_id!r})"

    @property
    def inner_copy(self) -> Callable[[], HASH]:
        return self._inner.copy

    @property
    def outer_copy(self) -> Callable[[], HASH]:
        return self._outer.copy

    def mac(self, prev_hash: str, text: str) -> str:
        inner = self._inner.copy()
        inner.update(prev_hash.encode("ascii"))
        inner.update(text.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


@dataclass(frozen=True)
class KeyRing:
    """The key new rows are signed with, and older keys still accepted when verifying."""

    current: ChainKey
    previous: tuple[ChainKey, ...] = ()

    @classmethod
    def from_config(cls, audit: AuditConfig) -> KeyRing:
        if audit.key is None:
            raise AuditKeyMissing(
                "audit.key is not set; set it in app.yaml from the environment, "
                "e.g. key: ${WATCHKEEPER_AUDIT_KEY}"
            )
        return cls(
            ChainKey(audit.key.get_secret_value()),
            tuple(ChainKey(k.get_secret_value()) for k in audit.previous_keys),
        )

    @classmethod
    def of(cls, keys: Iterable[str | bytes]) -> KeyRing:
        first, *rest = [ChainKey(k) for k in keys]
        return cls(first, tuple(rest))

    def by_id(self) -> dict[str, ChainKey]:
        return {k.key_id: k for k in (*reversed(self.previous), self.current)}
