"""Whether this replica reaches Slack and each fleet backend, from the calls it makes
anyway (the outbox's deliveries, `auth.test`, fleet reads and actions): no probe of its
own, so asking `/status` or `/metrics` never waits on either.

A dependency is reachable when its last call got an answer, any answer (a refusal, an
unknown service, Slack's 429 or `ok: false` are answers), and unreachable when it got none
(refused, timed out, 5xx, or a reply no client can read). It is per replica, kept in
memory: one replica may be cut off from Slack while the other is not, which is why it is
shown on /status and in metrics but is never a heartbeat problem (those are shared state,
announced once for all replicas) and never fails /readyz (docs/operations.md, "Probes").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from bot.clock import Clock, utcnow
from bot.monitoring.findings import Problem

SLACK = "slack"
# Socket Mode only: whether the bot's WebSocket to Slack is open (bot/slack_socket.py).
SLACK_SOCKET = "slack_socket"
FLEET_PREFIX = "fleet:"
UNREACHABLE = "unreachable:"
MAX_REASON = 200


@dataclass(frozen=True)
class Contact:
    # Whether the last call got an answer; None until the first call.
    reachable: bool | None = None
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_failure: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "reachable": self.reachable,
            "last_success_at": _iso(self.last_success_at),
            "last_failure_at": _iso(self.last_failure_at),
            "last_failure": self.last_failure,
        }


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


class Reachability:
    def __init__(self, registry: CollectorRegistry, clock: Clock = utcnow) -> None:
        self._clock = clock
        self._contacts: dict[str, Contact] = {}
        self._up = Gauge(
            "watchkeeper_dependency_up",
            "1 when this replica's last call to the dependency (slack, fleet:<backend>) got "
            "an answer, 0 when it got none; absent before the first call.",
            ["dependency"],
            registry=registry,
        )
        self._last_success = Gauge(
            "watchkeeper_dependency_last_success_timestamp_seconds",
            "When this replica's last answered call to the dependency ended (Unix time).",
            ["dependency"],
            registry=registry,
        )
        self._last_failure = Gauge(
            "watchkeeper_dependency_last_failure_timestamp_seconds",
            "When this replica's last unanswered call to the dependency ended (Unix time).",
            ["dependency"],
            registry=registry,
        )

    def expect(self, dependency: str) -> None:
        """List a dependency before its first call (shown as reachable: null)."""
        self._contacts.setdefault(dependency, Contact())

    def answered(self, dependency: str) -> None:
        now = self._clock()
        self._contacts[dependency] = replace(
            self._contact(dependency), reachable=True, last_success_at=now
        )
        self._up.labels(dependency).set(1)
        self._last_success.labels(dependency).set(now.timestamp())

    def failed(self, dependency: str, reason: str) -> None:
        now = self._clock()
        self._contacts[dependency] = replace(
            self._contact(dependency),
            reachable=False,
            last_failure_at=now,
            last_failure=reason[:MAX_REASON],
        )
        self._up.labels(dependency).set(0)
        self._last_failure.labels(dependency).set(now.timestamp())

    def contacts(self) -> dict[str, Contact]:
        return dict(sorted(self._contacts.items()))

    def _contact(self, dependency: str) -> Contact:
        return self._contacts.get(dependency) or Contact()


def unreachable_problems(reach: Reachability) -> list[Problem]:
    return [
        Problem(UNREACHABLE + name, f"the last call to {name} got no answer: {c.last_failure}")
        for name, c in reach.contacts().items()
        if c.reachable is False
    ]


def reachability_json(reach: Reachability) -> dict[str, Any]:
    """`{"slack": {...}, "fleet": {"<backend>": {...}}}` for /status, and `slack_socket`
    in Socket Mode."""
    contacts = reach.contacts()
    shown: dict[str, Any] = {
        "slack": contacts.get(SLACK, Contact()).as_json(),
        "fleet": {
            name.removeprefix(FLEET_PREFIX): c.as_json()
            for name, c in contacts.items()
            if name.startswith(FLEET_PREFIX)
        },
    }
    if SLACK_SOCKET in contacts:
        shown[SLACK_SOCKET] = contacts[SLACK_SOCKET].as_json()
    return shown
