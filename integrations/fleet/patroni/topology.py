"""Patroni's `GET /cluster` answer, and what Watchkeeper reads from it.

Patroni reports `role` (leader, standby_leader, replica, sync_standby), `state` (the
PostgreSQL state Patroni sees: running, streaming, starting, creating replica, ...) and,
for a non-leader, `lag` in bytes behind the leader, or "unknown" when the member has not
reported a WAL position. The leader has no `lag`.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from integrations.fleet.models import (
    Health,
    HistoryEntry,
    Member,
    MemberRole,
    MemberState,
    Service,
)

LEADER_ROLES = frozenset({"leader", "standby_leader"})
REPLICA_ROLES = frozenset({"replica", "sync_standby"})
# "streaming" is what newer Patroni versions report for a replica attached to its leader.
UP_STATES = frozenset({"running", "streaming"})
_STATES: dict[str, MemberState] = {
    "running": "running",
    "streaming": "running",
    "in archive recovery": "running",
    "starting": "starting",
    "restarting": "starting",
    "initializing new cluster": "starting",
    "running custom bootstrap script": "starting",
    "stopping": "stopped",
    "stopped": "stopped",
    "creating replica": "rebuilding",
    "crashed": "failed",
    "start failed": "failed",
    "restart failed": "failed",
    "stop failed": "failed",
    "bootstrap failed": "failed",
}


class _Answer(BaseModel):
    # Patroni adds fields from version to version; never fail a read on them.
    model_config = ConfigDict(extra="ignore", frozen=True)


class PatroniMember(_Answer):
    name: str
    role: str
    state: str = ""
    api_url: str | None = None
    host: str | None = None
    port: int | None = None
    timeline: int | None = None
    # Bytes behind the leader, or "unknown"; absent on the leader.
    lag: int | str | None = None
    tags: dict[str, Any] = Field(default_factory=dict)
    # A changed parameter waits for a restart of this member.
    pending_restart: bool = False
    # `{"schedule": "<ISO time>", ...}` once a restart is scheduled (`POST /restart`).
    scheduled_restart: dict[str, Any] | None = None

    @property
    def restart_at(self) -> datetime | None:
        when = (self.scheduled_restart or {}).get("schedule")
        if not isinstance(when, str):
            return None
        try:
            parsed = datetime.fromisoformat(when)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else None

    @property
    def is_leader(self) -> bool:
        return self.role in LEADER_ROLES

    @property
    def lag_bytes(self) -> int | None:
        return self.lag if isinstance(self.lag, int) and self.lag >= 0 else None

    @property
    def healthy(self) -> bool:
        if self.state not in UP_STATES:
            return False
        return self.is_leader or self.lag_bytes is not None

    @property
    def can_lead(self) -> bool:
        """Not excluded from promotion by its tags (`nofailover`, `failover_priority: 0`)."""
        return not self.tags.get("nofailover") and self.tags.get("failover_priority") != 0


class ClusterAnswer(_Answer):
    members: list[PatroniMember] = Field(default_factory=list)
    pause: bool = False
    scheduled_switchover: dict[str, Any] | None = None

    @property
    def leader(self) -> PatroniMember | None:
        return next((m for m in self.members if m.is_leader), None)

    @property
    def replicas(self) -> list[PatroniMember]:
        return [m for m in self.members if not m.is_leader]

    @property
    def synchronous(self) -> bool:
        return any(m.role == "sync_standby" for m in self.members)

    def member(self, name: str) -> PatroniMember | None:
        return next((m for m in self.members if m.name == name), None)

    def promotable(self) -> list[PatroniMember]:
        """Healthy replicas Patroni would promote, best first: least lag, then name.

        With synchronous replication Patroni only promotes a synchronous standby.
        """
        pool = [m for m in self.replicas if m.healthy and m.can_lead]
        if self.synchronous:
            pool = [m for m in pool if m.role == "sync_standby"]
        return sorted(pool, key=lambda m: (m.lag_bytes or 0, m.name))

    @property
    def health(self) -> Health:
        leader = self.leader
        if leader is None or not leader.healthy:
            return "down"
        return "healthy" if all(m.healthy for m in self.members) else "degraded"

    def describe(self) -> str:
        """One line for messages: who leads, who follows and how far behind."""
        parts = []
        for m in self.members:
            lag = "" if m.is_leader else f", lag {m.lag if m.lag is not None else '?'}"
            parts.append(f"{m.name} ({m.role}, {m.state or 'no state'}{lag})")
        paused = "; paused" if self.pause else ""
        return ("; ".join(parts) or "no members") + paused


def _role(member: PatroniMember) -> MemberRole:
    return "primary" if member.is_leader else "replica"


def _host(member: PatroniMember) -> str | None:
    if member.host and member.port:
        return f"{member.host}:{member.port}"
    return member.host


def to_member(member: PatroniMember) -> Member:
    return Member(
        name=member.name,
        role=_role(member),
        # A state this code does not know is not a state to trust.
        state=_STATES.get(member.state, "failed"),
        healthy=member.healthy,
        lag_bytes=None if member.is_leader else member.lag_bytes,
        host=_host(member),
        pending_restart=member.pending_restart,
        restart_at=member.restart_at,
    )


# How many of the newest timeline changes status shows.
HISTORY_SHOWN = 5


def history_entries(lines: Any) -> list[HistoryEntry]:
    """`GET /history`: `[timeline, lsn, reason, timestamp, new_leader]` per line, oldest
    first (the last two only in newer Patroni versions). Newest first, at most
    HISTORY_SHOWN; a line of another shape is skipped, never trusted."""
    entries: list[HistoryEntry] = []
    for line in lines if isinstance(lines, list) else []:
        if not isinstance(line, list) or len(line) < 3 or not isinstance(line[0], int):
            continue
        at = None
        if len(line) > 3 and isinstance(line[3], str):
            with contextlib.suppress(ValueError):
                at = datetime.fromisoformat(line[3])
        leader = line[4] if len(line) > 4 and isinstance(line[4], str) else None
        entries.append(
            HistoryEntry(
                timeline=line[0],
                reason=str(line[2])[:200],
                at=at if at is None or at.tzinfo else None,
                leader=leader,
            )
        )
    return entries[::-1][:HISTORY_SHOWN]


def to_service(
    name: str, answer: ClusterAnswer, *, region: str, history: list[HistoryEntry] | None = None
) -> Service:
    return Service(
        name=name,
        kind="postgres",
        plan="patroni",
        region=region,
        health=answer.health,
        paused=answer.pause,
        members=[to_member(m) for m in answer.members],
        history=history or [],
    )
