"""Dry runs drawn from the real state of a service: the plan, and the steps that do it.

The same blueprint serves `POST .../plans` (only the plan is shown) and
`POST .../operations` (its steps are run), so what a human confirmed is what runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from integrations.fleet.models import Action, Change, Plan, PlanRequest
from standins.fleet.simulator import effects
from standins.fleet.simulator.draft import (
    PENDING_SECONDS,
    Draft,
    Drafter,
    StepSpec,
    bounce_steps,
    healthy_replicas,
    kafka_floor,
    role_changes,
    rolling_order,
)
from standins.fleet.simulator.params import validate_params
from standins.fleet.simulator.state import SimMember, SimService


@dataclass(frozen=True)
class Blueprint:
    plan: Plan
    steps: tuple[StepSpec, ...]


def _restart(service: SimService, params: dict[str, str]) -> Draft:
    members = [service.get(params["member"])] if "member" in params else rolling_order(service)
    single_replica = len(members) == 1 and members[0].role != "primary"
    draft = Draft(
        risk="low" if single_replica else "medium",
        impact=(
            f"{members[0].name} restarts; its clients reconnect"
            if len(members) == 1
            else f"rolling restart of {len(members)} members, one at a time"
        ),
    )
    for member in members:
        draft.steps += bounce_steps(member.name, "restart")
        if member.role == "primary":
            draft.warnings.append(
                f"restarting primary {member.name} interrupts writes for a few seconds"
            )
    kafka_floor(service, [m.name for m in members], draft)
    return draft


def _switchover(service: SimService, params: dict[str, str]) -> Draft:
    draft = Draft(risk="medium", impact="")
    primary = service.primary
    if "candidate" in params:
        candidate: SimMember | None = service.get(params["candidate"])
    else:
        candidate = next(iter(healthy_replicas(service)), None)
    if primary is None or not primary.healthy:
        draft.refusal = "the primary is not healthy; a switchover needs it (use failover)"
    elif candidate is None:
        draft.refusal = "no healthy replica to promote"
    elif candidate.role != "replica" or not candidate.healthy:
        draft.refusal = f"{candidate.name} is not a healthy replica"
    if draft.refusal or primary is None or candidate is None:
        return draft
    c, p = candidate.name, primary.name
    draft.steps = [
        StepSpec(f"check replication of {c}", 0.5, c),
        StepSpec(f"demote {p}", 1.0, p),
        StepSpec(f"promote {c}", 1.0, c, end=effects.promote(c)),
        StepSpec(f"reattach {p} as a replica", 0.5, p, end=effects.member_up(p)),
    ]
    draft.changes = role_changes(c, p)
    draft.impact = f"writes to {service.name} pause for about 2 s while {c} is promoted"
    if candidate.lag_bytes:
        draft.warnings.append(
            f"{c} is {candidate.lag_bytes} bytes behind; the switchover waits for it"
        )
    return draft


def _failover(service: SimService, params: dict[str, str]) -> Draft:
    draft = Draft(risk="high", impact="")
    primary = service.primary
    candidate = next(iter(healthy_replicas(service)), None)
    if primary is None or candidate is None:
        draft.refusal = "no healthy replica to promote"
        return draft
    c, p = candidate.name, primary.name
    draft.steps = [
        StepSpec(f"fence {p}", 0.5, p, end=effects.member_down(p, "stopped")),
        StepSpec(f"promote {c}", 1.0, c, end=effects.promote(c)),
        StepSpec(
            f"rebuild {p} as a replica",
            3.0,
            p,
            begin=effects.member_down(p, "rebuilding"),
            end=effects.member_up(p),
        ),
    ]
    draft.changes = role_changes(c, p)
    draft.impact = f"{service.name} is unavailable until {c} is promoted, about 2 s"
    if primary.healthy:
        draft.warnings.append(f"primary {p} is healthy; a switchover is safer")
    if candidate.lag_bytes:
        draft.warnings.append(f"up to {candidate.lag_bytes} bytes not on {c} may be lost")
    return draft


def _replace(service: SimService, params: dict[str, str]) -> Draft:
    member = service.get(params["member"])
    m = member.name
    draft = Draft(risk="medium", impact=f"{m} moves to a new node; it is away for about 1 s")
    if member.role == "primary":
        draft.refusal = f"{m} is the primary; switch over first"
        return draft
    kafka_floor(service, [m], draft)
    draft.steps = [
        StepSpec(f"provision a new node for {m}", 2.0),
        StepSpec(f"copy data to the new node of {m}", 3.0, m),
        StepSpec(
            f"swap in the new node of {m}",
            1.0,
            m,
            begin=effects.member_down(m, "starting"),
            end=effects.new_node(m),
        ),
    ]
    draft.changes = [Change(member=m, attribute="host", before=member.host, after="a new node")]
    return draft


def _reinit(service: SimService, params: dict[str, str]) -> Draft:
    member = service.get(params["member"])
    m = member.name
    draft = Draft(risk="low", impact=f"{m} serves no reads until it is re-cloned")
    primary = service.primary
    if member.role == "primary":
        draft.refusal = f"{m} is the primary; reinit rebuilds a replica from it"
    elif primary is None or not primary.healthy:
        draft.refusal = "no healthy primary to clone from"
    if draft.refusal:
        return draft
    draft.steps = [
        StepSpec(f"stop {m}", 0.5, m, end=effects.member_down(m, "stopped")),
        StepSpec(
            f"re-clone {m} from the primary", 3.0, m, begin=effects.member_down(m, "rebuilding")
        ),
        StepSpec(f"start {m}", 1.0, m, end=effects.member_up(m)),
    ]
    draft.changes = [Change(member=m, attribute="lag_bytes", before=member.lag_bytes, after=0)]
    return draft


def _next_patch(version: str) -> str:
    head, _, last = version.rpartition(".")
    return f"{head}.{int(last) + 1}" if last.isascii() and last.isdecimal() and head else version


def _maintenance(service: SimService, params: dict[str, str]) -> Draft:
    if params["mode"] == "schedule":
        at = datetime.fromisoformat(params["at"])
        draft = Draft(risk="low", impact=f"nothing now; maintenance runs at {at.isoformat()}")
        draft.steps = [
            StepSpec(
                f"schedule maintenance at {at.isoformat()}", 0.2, end=effects.set_maintenance(at)
            )
        ]
        before = service.maintenance_at.isoformat() if service.maintenance_at else None
        draft.changes = [Change(attribute="maintenance_at", before=before, after=at.isoformat())]
        return draft
    members = rolling_order(service)
    version = _next_patch(service.version)
    draft = Draft(risk="medium", impact=f"rolling update of {len(members)} members to {version}")
    for member in members:
        draft.steps += bounce_steps(member.name, "update")
    draft.steps.append(StepSpec(f"record version {version}", 0.1, end=effects.set_version(version)))
    draft.changes = [Change(attribute="version", before=service.version, after=version)]
    kafka_floor(service, [m.name for m in members], draft)
    return draft


def _pause(service: SimService, params: dict[str, str]) -> Draft:
    draft = Draft(risk="medium", impact=f"nothing heals {service.name} until it is resumed")
    if service.paused:
        draft.refusal = f"{service.name} is already paused"
        return draft
    draft.steps = [StepSpec("pause automatic failover", 0.5, end=effects.set_paused(True))]
    draft.changes = [Change(attribute="paused", before=False, after=True)]
    return draft


def _resume(service: SimService, params: dict[str, str]) -> Draft:
    draft = Draft(risk="low", impact="the control plane heals the service again")
    if not service.paused:
        draft.refusal = f"{service.name} is not paused"
        return draft
    draft.steps = [StepSpec("resume automatic failover", 0.5, end=effects.set_paused(False))]
    draft.changes = [Change(attribute="paused", before=True, after=False)]
    return draft


def _rotate_credentials(service: SimService, params: dict[str, str]) -> Draft:
    draft = Draft(risk="medium", impact="clients still using the old password are disconnected")
    draft.steps = [
        StepSpec("generate new credentials", 0.5),
        StepSpec(f"roll out credentials to {len(service.members)} members", 1.0),
        StepSpec("revoke the old credentials", 0.5),
    ]
    draft.changes = [Change(attribute="credentials", before="current", after="rotated")]
    return draft


DRAFTERS: dict[Action, Drafter] = {
    "restart": _restart,
    "switchover": _switchover,
    "failover": _failover,
    "replace": _replace,
    "reinit": _reinit,
    "maintenance": _maintenance,
    "pause": _pause,
    "resume": _resume,
    "rotate-credentials": _rotate_credentials,
}


def blueprint(service: SimService, request: PlanRequest, now: datetime) -> Blueprint:
    params = validate_params(service, request, now)
    draft = DRAFTERS[request.action](service, params)
    if service.paused and request.action not in ("pause", "resume"):
        draft.warnings.append(
            f"automatic failover is paused on {service.name}; nothing heals it if this goes wrong"
        )
    if service.health != "healthy":
        draft.warnings.append(f"{service.name} is {service.health} now")
    steps = () if draft.refusal else tuple(draft.steps)
    plan = Plan(
        action=request.action,
        target=service.name,
        params=dict(request.params),
        allowed=draft.refusal is None,
        reason=draft.refusal,
        risk=draft.risk,
        steps=[s.name for s in steps],
        changes=[] if draft.refusal else draft.changes,
        warnings=draft.warnings,
        estimated_seconds=round(PENDING_SECONDS + sum(s.seconds for s in steps), 3) if steps else 0,
        impact=draft.impact,
    )
    return Blueprint(plan=plan, steps=steps)
