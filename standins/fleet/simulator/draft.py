"""The pieces a dry run is drawn with: steps, the draft of a plan, shared checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from integrations.fleet.models import Change, Risk
from standins.fleet.simulator import effects
from standins.fleet.simulator.effects import Effect
from standins.fleet.simulator.state import KAFKA_MIN_INSYNC, SimMember, SimService

# An operation waits this long in `pending` before its first step starts.
PENDING_SECONDS = 0.2


@dataclass(frozen=True)
class StepSpec:
    name: str
    seconds: float
    # The member the step acts on; it is the one left broken when the step fails.
    member: str | None = None
    begin: Effect | None = None
    end: Effect | None = None


@dataclass
class Draft:
    risk: Risk
    impact: str
    steps: list[StepSpec] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    refusal: str | None = None


Drafter = Callable[[SimService, dict[str, str]], Draft]


def rolling_order(service: SimService) -> list[SimMember]:
    # Replicas first, so the primary restarts last and at most once.
    return sorted(service.members, key=lambda m: m.role == "primary")


def kafka_floor(service: SimService, names: list[str], draft: Draft) -> None:
    """Refuse to take a healthy broker down when that breaks min.insync.replicas."""
    if service.kind != "kafka":
        return
    up = sum(1 for m in service.members if m.healthy)
    if any(service.get(n).healthy for n in names) and up - 1 < KAFKA_MIN_INSYNC:
        draft.refusal = (
            f"only {up} healthy brokers; taking one down leaves {service.name} "
            f"below min.insync.replicas={KAFKA_MIN_INSYNC}"
        )


def bounce_steps(name: str, verb: str) -> list[StepSpec]:
    return [
        StepSpec(f"{verb} {name}", 1.0, name, begin=effects.member_down(name, "starting")),
        StepSpec(f"wait for {name} to rejoin", 1.0, name, end=effects.member_up(name)),
    ]


def healthy_replicas(service: SimService) -> list[SimMember]:
    return sorted(
        (m for m in service.replicas if m.healthy), key=lambda m: (m.lag_bytes or 0, m.name)
    )


def role_changes(new: str, old: str) -> list[Change]:
    return [
        Change(member=new, attribute="role", before="replica", after="primary"),
        Change(member=old, attribute="role", before="primary", after="replica"),
    ]
