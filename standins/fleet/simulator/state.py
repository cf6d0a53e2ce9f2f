"""The mutable state of one simulated service, and how its health follows from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from integrations.fleet.models import (
    Health,
    Member,
    MemberRole,
    MemberState,
    Service,
    ServiceKind,
    ServiceSummary,
)

# Beyond this a replica is too far behind to promote without loss, so the service is degraded.
LAG_DEGRADED_BYTES = 16 * 1024 * 1024
# Kafka topics are replicated 3 times with min.insync.replicas=2.
KAFKA_MIN_INSYNC = 2


class ApiProblem(Exception):
    """A refusal of the control plane; the app answers it as `{"error", "message"}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


def host_for(member: str, region: str, generation: int = 0) -> str:
    suffix = f"-g{generation}" if generation else ""
    return f"{member}{suffix}.{region}.fleet.internal"


@dataclass
class SimMember:
    name: str
    role: MemberRole
    host: str
    state: MemberState = "running"
    healthy: bool = True
    lag_bytes: int | None = None
    generation: int = 0

    def set_running(self) -> None:
        self.state = "running"
        self.healthy = True

    def set_down(self, state: MemberState) -> None:
        self.state = state
        self.healthy = False

    def to_model(self) -> Member:
        return Member(
            name=self.name,
            role=self.role,
            state=self.state,
            healthy=self.healthy,
            lag_bytes=self.lag_bytes,
            host=self.host,
        )


@dataclass
class SimService:
    name: str
    kind: ServiceKind
    plan: str
    region: str
    version: str
    members: list[SimMember]
    paused: bool = False
    maintenance_at: datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)
    _by_name: dict[str, SimMember] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name = {m.name: m for m in self.members}

    def member(self, name: str) -> SimMember | None:
        return self._by_name.get(name)

    def get(self, name: str) -> SimMember:
        """A member the action already validated; a missing one is a simulator bug."""
        return self._by_name[name]

    @property
    def primary(self) -> SimMember | None:
        return next((m for m in self.members if m.role == "primary"), None)

    @property
    def replicas(self) -> list[SimMember]:
        return [m for m in self.members if m.role == "replica"]

    @property
    def health(self) -> Health:
        if self.kind == "kafka":
            up = sum(1 for m in self.members if m.healthy)
            if up == len(self.members):
                return "healthy"
            return "degraded" if up >= KAFKA_MIN_INSYNC else "down"
        primary = self.primary
        if primary is None or not primary.healthy:
            return "down"
        lagging = any((m.lag_bytes or 0) > LAG_DEGRADED_BYTES for m in self.replicas)
        if lagging or not all(m.healthy for m in self.members):
            return "degraded"
        return "healthy"

    def to_model(self) -> Service:
        return Service(
            name=self.name,
            kind=self.kind,
            plan=self.plan,
            region=self.region,
            health=self.health,
            paused=self.paused,
            version=self.version,
            members=[m.to_model() for m in self.members],
            maintenance_at=self.maintenance_at,
            tags=dict(self.tags),
        )

    def summary(self) -> ServiceSummary:
        return ServiceSummary(
            name=self.name,
            kind=self.kind,
            region=self.region,
            health=self.health,
            plan=self.plan,
            version=self.version,
            tags=dict(self.tags),
        )
