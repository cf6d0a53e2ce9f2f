"""Patroni's `GET /cluster` answer, and what Watchkeeper reads from it.

Patroni reports `role` (leader, standby_leader, replica, sync_standby), `state` (the
PostgreSQL state Patroni sees: running, streaming, starting, creating replica, ...) and,
for a non-leader, `lag` in bytes behind the leader, or "unknown" when the member has not
reported a WAL position. The leader has no `lag`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from integrations.fleet.models import Health, Member, MemberRole, MemberState, Service

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
    )


def to_service(name: str, answer: ClusterAnswer, *, region: str) -> Service:
    return Service(
        name=name,
        kind="postgres",
        plan="patroni",
        region=region,
        health=answer.health,
        paused=answer.pause,
        members=[to_member(m) for m in answer.members],
    )
