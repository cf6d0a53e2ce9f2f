"""Outages on demand, and Slack's per-channel posting pace.

A fault stands for Slack being unwell: it applies to Web API methods and response_urls
alike and is decided before anything else, so a faulted call never changes state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

FaultMode = Literal["ok", "error_5xx", "rate_limit", "hang"]
FAULT_MODES: tuple[str, ...] = get_args(FaultMode)


class FaultSpecError(ValueError):
    pass


@dataclass
class Fault:
    mode: FaultMode
    status: int = 503
    retry_after: float = 5.0
    until: float | None = None  # the state's monotonic clock; None: until cleared
    methods: frozenset[str] | None = None  # None: every method and response_url
    calls_left: int | None = None  # None: any number of calls

    def expired(self, now: float) -> bool:
        return self.until is not None and now >= self.until

    def active(self, now: float) -> bool:
        if self.mode == "ok" or self.expired(now):
            return False
        return self.calls_left is None or self.calls_left > 0

    def applies_to(self, method: str, now: float) -> bool:
        return self.active(now) and (self.methods is None or method in self.methods)

    def to_json(self, now: float) -> dict[str, Any]:
        return {
            "mode": self.mode if self.active(now) else "ok",
            "status": self.status,
            "retry_after": self.retry_after,
            "seconds_left": None if self.until is None else max(0.0, self.until - now),
            "methods": None if self.methods is None else sorted(self.methods),
            "calls_left": self.calls_left,
        }


def fault_from_json(spec: dict[str, Any], now: float) -> Fault:
    """Build a fault from the control route's JSON; raises FaultSpecError when malformed."""
    mode = spec.get("mode", "ok")
    if mode not in FAULT_MODES:
        raise FaultSpecError(f"mode must be one of {', '.join(FAULT_MODES)}")
    status = _number(spec, "status", 503)
    if mode == "error_5xx" and not 500 <= status <= 599:
        raise FaultSpecError("status must be within 500..599")
    seconds = spec.get("seconds")
    methods = spec.get("methods")
    if methods is not None and not (
        isinstance(methods, list) and all(isinstance(m, str) for m in methods)
    ):
        raise FaultSpecError("methods must be a list of method names")
    calls = spec.get("calls")
    return Fault(
        mode=mode,
        status=int(status),
        retry_after=_number(spec, "retry_after", 5.0),
        until=None if seconds is None else now + _number(spec, "seconds", 0.0),
        methods=None if methods is None else frozenset(methods),
        calls_left=None if calls is None else int(_number(spec, "calls", 0)),
    )


def _number(spec: dict[str, Any], key: str, default: float) -> float:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise FaultSpecError(f"{key} must be a non-negative number")
    return float(value)


class ChannelPacer:
    """A token bucket per channel: `per_second` posts a second, `burst` at once.

    Slack documents about one chat.postMessage a second per channel with short bursts
    tolerated; the exact burst is not published, so it is a setting here.
    """

    def __init__(self, *, per_second: float = 1.0, burst: int = 3) -> None:
        self.per_second = per_second
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, at)

    def _tokens(self, channel: str, now: float) -> float:
        tokens, at = self._buckets.get(channel, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.per_second)

    def allows(self, channel: str, now: float) -> bool:
        return self._tokens(channel, now) >= 1.0

    def take(self, channel: str, now: float) -> None:
        self._buckets[channel] = (self._tokens(channel, now) - 1.0, now)
