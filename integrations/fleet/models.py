"""The data of the fleet control-plane API contract (`docs/fleet-api.yaml`).

These pydantic models are the wire format of the `http` backend and the simulator, and
the values every backend hands to the core through its `Fleet` port.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ServiceKind = Literal["postgres", "redis", "kafka"]
Health = Literal["healthy", "degraded", "down"]
MemberRole = Literal["primary", "replica", "broker", "controller"]
MemberState = Literal["running", "starting", "stopped", "failed", "rebuilding"]


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


class Service(_Wire):
    name: str
    kind: ServiceKind
    plan: str
    region: str
    health: Health
    paused: bool = False
    version: str | None = None
    members: list[Member] = Field(default_factory=list)

    @property
    def primary(self) -> Member | None:
        return next((m for m in self.members if m.role == "primary"), None)

    @property
    def healthy_members(self) -> int:
        return sum(1 for m in self.members if m.healthy)


class ServiceSummary(_Wire):
    """One line of the service list: enough for an overview and for name suggestions."""

    name: str
    kind: ServiceKind
    region: str
    health: Health


class ServiceList(_Wire):
    items: list[ServiceSummary]
    next_cursor: str | None = None
