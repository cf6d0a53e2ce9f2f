"""The topic configs `topic-config` may change, and the rule each value must meet.

Only these keys: each one an on-call engineer changes during an incident (retention when a
disk fills, min.insync.replicas when brokers are lost, ...). Values are outside input and
are checked here before anything reaches the broker, since a broker may store a value it
cannot use (Tansu accepts `retention.ms=abc`).
"""

from __future__ import annotations

from collections.abc import Callable

CLEANUP_POLICIES = frozenset({"delete", "compact"})
COMPRESSION_TYPES = ("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")
TIMESTAMP_TYPES = ("CreateTime", "LogAppendTime")
LONG_MAX = 2**63 - 1


def _whole(minimum: int) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        try:
            number = int(value, 10)
        except ValueError:
            return "must be a whole number"
        if not minimum <= number <= LONG_MAX:
            return f"must be at least {minimum}"
        return None

    return check


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


def _cleanup(value: str) -> str | None:
    words = value.split(",")
    if not words or set(words) - CLEANUP_POLICIES or len(words) != len(set(words)):
        return "must be delete, compact or delete,compact"
    return None


RULES: dict[str, Callable[[str], str | None]] = {
    "retention.ms": _whole(-1),  # -1: keep forever
    "retention.bytes": _whole(-1),
    "segment.ms": _whole(1),
    "segment.bytes": _whole(14),
    "delete.retention.ms": _whole(0),
    "min.compaction.lag.ms": _whole(0),
    "max.message.bytes": _whole(0),
    "min.insync.replicas": _whole(1),
    "cleanup.policy": _cleanup,
    "compression.type": _one_of(COMPRESSION_TYPES),
    "unclean.leader.election.enable": _one_of(("true", "false")),
    "message.timestamp.type": _one_of(TIMESTAMP_TYPES),
}
KEYS = frozenset(RULES)


def problem(key: str, value: str) -> str | None:
    """Why `key=value` is refused, or None when it may be sent to the broker."""
    rule = RULES.get(key)
    if rule is None:
        return f"{key} is not a topic config Watchkeeper changes; it changes {', '.join(RULES)}"
    found = rule(value)
    return f"{key} {found}" if found else None
