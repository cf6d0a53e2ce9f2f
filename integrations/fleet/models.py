"""The data of the fleet control-plane API contract (`docs/fleet-api.yaml`).

These pydantic models are the wire format of the `http` backend and the simulator, and
the values every backend hands to the core through its `Fleet` port.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

ServiceKind = Literal["postgres", "redis", "kafka"]
Health = Literal["healthy", "degraded", "down"]
MemberRole = Literal["primary", "replica", "broker", "controller"]
MemberState = Literal["running", "starting", "stopped", "failed", "rebuilding"]
Action = Literal[
    "restart",
    "switchover",
    "failover",
    "replace",
    "reinit",
    "maintenance",
    "pause",
    "resume",
    "rotate-credentials",
    # Kafka (the `kafka` backend; docs/backends.md, "Kafka").
    "topic-config",
    "offset-reset",
    "elect-leaders",
    "drain-broker",
]
ACTIONS: tuple[Action, ...] = get_args(Action)
Risk = Literal["low", "medium", "high"]
OperationState = Literal["pending", "running", "succeeded", "failed", "cancelled"]
FINISHED_STATES: frozenset[OperationState] = frozenset({"succeeded", "failed", "cancelled"})
# Action parameters are flat JSON scalars, so they hash and audit canonically.
ParamValue = str | int | float | bool | None


class _Wire(BaseModel):
    # Tolerate fields a newer control plane adds; never fail a read on them.
    model_config = ConfigDict(extra="ignore", frozen=True)


class Member(_Wire):
    name: str
    role: MemberRole
    state: MemberState
    healthy: bool
    lag_bytes: int | None = Field(default=None, ge=0)
    host: str | None = None
    # A changed setting waits for a restart of this member; a restart is scheduled then.
    pending_restart: bool = False
    restart_at: datetime | None = None


class HistoryEntry(_Wire):
    """One change of leader (a new timeline), newest first in `Service.history`."""

    timeline: int
    reason: str
    at: datetime | None = None
    leader: str | None = None


class Topic(_Wire):
    """A Kafka topic as the cluster's metadata shows it."""

    name: str
    partitions: int = Field(ge=0)
    replication_factor: int = Field(ge=0)
    # Partitions whose in-sync replicas are fewer than their replicas / that have no leader.
    under_replicated: int = Field(default=0, ge=0)
    offline: int = Field(default=0, ge=0)
    # The topic configs Watchkeeper can change (retention.ms, ...), as the broker reports them.
    configs: dict[str, str] = Field(default_factory=dict)


class ConsumerGroup(_Wire):
    """A Kafka consumer group named in the backend's config, and how far behind it is."""

    name: str
    state: str
    members: int = Field(ge=0)
    # Messages between the committed offsets and the log ends, summed and per topic;
    # None when it could not be read (`error` says why).
    lag: int | None = Field(default=None, ge=0)
    lag_by_topic: dict[str, int] = Field(default_factory=dict)
    error: str | None = None


class Note(_Wire):
    """A backend's own line about a service (Sentinel quorum, replica links, ...): shown as
    it is, escaped, on the status card."""

    label: str = Field(max_length=80)
    value: str = Field(max_length=1000)


class Service(_Wire):
    name: str
    kind: ServiceKind
    plan: str
    region: str
    health: Health
    paused: bool = False
    version: str | None = None
    members: list[Member] = Field(default_factory=list)
    # Set by `maintenance` with mode `schedule`.
    maintenance_at: datetime | None = None
    # The latest leader changes, when the backend keeps them (Patroni's `/history`).
    history: list[HistoryEntry] = Field(default_factory=list)
    # Labels the control plane keeps (`team`, `tier`, ...): `tag:<key>=` in a selector.
    tags: dict[str, str] = Field(default_factory=dict)
    # Kafka: the controller broker, the topics and the watched consumer groups.
    controller: str | None = None
    topics: list[Topic] = Field(default_factory=list)
    consumer_groups: list[ConsumerGroup] = Field(default_factory=list)
    # Observed values a plan's service-level `Change` may name (its `attribute`), so the
    # post-check can compare them with the promised `after` (a topic's retention.ms, ...).
    facts: dict[str, str | int | bool | None] = Field(default_factory=dict)
    # What this backend knows beyond members, in its own words.
    notes: list[Note] = Field(default_factory=list, max_length=10)

    @property
    def primary(self) -> Member | None:
        return next((m for m in self.members if m.role == "primary"), None)

    @property
    def healthy_members(self) -> int:
        return sum(1 for m in self.members if m.healthy)


class ServiceSummary(_Wire):
    """One line of the service list: enough for an overview, name suggestions and the
    selector's fields (`plan`, `version` and `tags` are optional: a backend that does not
    know them leaves them out, and terms on them then match nothing)."""

    name: str
    kind: ServiceKind
    region: str
    health: Health
    plan: str | None = None
    version: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class ServiceList(_Wire):
    items: list[ServiceSummary]
    next_cursor: str | None = None


class PlanRequest(_Wire):
    """The body of both `POST .../plans` (dry run) and `POST .../operations` (do it)."""

    # A typo in a parameter name must not silently become "use the default".
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    params: dict[str, ParamValue] = Field(default_factory=dict)


class Change(_Wire):
    """One attribute the action changes; `member` is None for the service itself."""

    member: str | None = None
    attribute: str
    before: str | int | bool | None = None
    after: str | int | bool | None = None


class Plan(_Wire):
    action: Action
    target: str
    params: dict[str, ParamValue] = Field(default_factory=dict)
    allowed: bool
    # Why the control plane refuses, when `allowed` is false.
    reason: str | None = None
    risk: Risk
    steps: list[str] = Field(default_factory=list)
    changes: list[Change] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    estimated_seconds: float = Field(ge=0)
    impact: str = ""


class OperationStep(_Wire):
    name: str
    state: OperationState
    progress: float = Field(ge=0, le=1)


class Operation(_Wire):
    id: str
    action: Action
    target: str
    params: dict[str, ParamValue] = Field(default_factory=dict)
    state: OperationState
    actor: str
    created_at: datetime
    updated_at: datetime
    steps: list[OperationStep] = Field(default_factory=list)
    error: str | None = None
    cancelled_by: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES


class OperationList(_Wire):
    items: list[Operation]


class ApiError(_Wire):
    """The body of every error answer: a stable `error` code and a human `message`."""

    error: str
    message: str
