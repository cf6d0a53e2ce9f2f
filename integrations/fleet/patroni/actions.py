"""Dry runs drawn from `GET /cluster`: the plan a human confirms, and the steps that do it.

The same blueprint serves `plan` (only the plan is shown) and `start_operation` (its
steps run, drawn again from the cluster as it is then), so what was confirmed is what
runs, and a cluster that changed in between is checked again. Every target (the leader,
the candidate, the member order) is resolved here, never left to Patroni's choice, so the
operation can check that exactly that happened.

Patroni refuses a switchover or failover without a named candidate while the cluster is
paused (`POST /switchover`: "Switchover is possible only to a specific candidate in a
paused state"); naming the candidate ourselves keeps the action possible in maintenance
mode, and the plan warns that nothing heals the cluster afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from integrations.fleet.errors import FleetRequestRejected
from integrations.fleet.models import Action, Change, ParamValue, Plan, Risk
from integrations.fleet.patroni.topology import ClusterAnswer, PatroniMember

Do = Literal[
    "post_switchover",
    "post_restart_at",
    "post_failover",
    "post_restart",
    "post_reinitialize",
    "patch_pause",
    "patch_resume",
    "wait_leader",
    "wait_replica",
    "wait_restarted",
    "wait_scheduled",
    "wait_paused",
    "wait_resumed",
]
# The configured REST URL of a member, or None when app.yaml does not list it.
UrlOf = Callable[[PatroniMember], str | None]

_NONE: frozenset[str] = frozenset()
# action -> (accepted parameters, required parameters)
PARAMS: dict[Action, tuple[frozenset[str], frozenset[str]]] = {
    "restart": (frozenset({"member", "at"}), _NONE),
    "switchover": (frozenset({"candidate"}), _NONE),
    "failover": (frozenset({"candidate"}), _NONE),
    "reinit": (frozenset({"member"}), frozenset({"member"})),
    "pause": (_NONE, _NONE),
    "resume": (_NONE, _NONE),
}


@dataclass(frozen=True)
class StepSpec:
    name: str
    do: Do
    member: str | None = None
    # The expected duration (plan estimate); waits give up after `timeout`.
    seconds: float = 1.0
    timeout: float = 0.0


@dataclass
class Draft:
    risk: Risk
    impact: str = ""
    steps: list[StepSpec] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    refusal: str | None = None
    # Resolved targets, for the operation's request bodies.
    leader: str | None = None
    candidate: str | None = None
    # A scheduled restart's time, as Patroni takes it (ISO 8601 with its offset).
    schedule: str | None = None


def invalid(message: str) -> FleetRequestRejected:
    return FleetRequestRejected(422, message, code="invalid_params")


def _future_time(value: str, now: datetime) -> str:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise invalid(f"at: {value} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise invalid("at: needs a UTC offset (Patroni refuses a time without one)")
    if when <= now:
        raise invalid(f"at: {value} is in the past")
    return when.isoformat()


def validate_params(
    answer: ClusterAnswer, action: Action, params: Mapping[str, ParamValue], now: datetime
) -> dict[str, str]:
    """The parameters as strings, or a 422 naming the first fault."""
    if action not in PARAMS:
        raise FleetRequestRejected(
            422, f"{action} is not something Patroni does", code="action_not_supported"
        )
    accepted, required = PARAMS[action]
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise invalid(f"{action} takes no parameter {', '.join(unknown)}")
    missing = sorted(required - set(params))
    if missing:
        raise invalid(f"{action} needs {', '.join(missing)}")
    checked: dict[str, str] = {}
    for key, value in params.items():
        if not isinstance(value, str) or not value:
            raise invalid(f"{key}: must be a non-empty string")
        if key == "at":
            checked[key] = _future_time(value, now)
            continue
        if answer.member(value) is None:
            raise invalid(f"{key}: the cluster has no member {value}")
        checked[key] = value
    return checked


def _role_changes(new: str, old: str | None) -> list[Change]:
    changes = [Change(member=new, attribute="role", before="replica", after="primary")]
    if old:
        changes.append(Change(member=old, attribute="role", before="primary", after="replica"))
    return changes


def _pick_candidate(answer: ClusterAnswer, named: str | None, draft: Draft) -> PatroniMember | None:
    best = answer.promotable()
    if named is None:
        if not best:
            draft.refusal = "no healthy replica to promote"
        return best[0] if best else None
    member = answer.member(named)
    if member is None or member.is_leader:
        draft.refusal = f"{named} is already the leader"
    elif not member.healthy:
        draft.refusal = f"{named} is not a healthy replica ({member.state}, lag {member.lag})"
    elif not member.can_lead:
        draft.refusal = f"{named} is tagged nofailover; Patroni will not promote it"
    elif answer.synchronous and member.role != "sync_standby":
        draft.refusal = f"{named} is not the synchronous standby; Patroni promotes only that one"
    return None if draft.refusal else member


def _switchover(answer: ClusterAnswer, params: dict[str, str], url_of: UrlOf) -> Draft:
    draft = Draft(risk="medium")
    leader = answer.leader
    if leader is None or not leader.healthy:
        draft.refusal = "the leader is not healthy; a switchover needs it (use failover)"
        return draft
    candidate = _pick_candidate(answer, params.get("candidate"), draft)
    if candidate is None:
        return draft
    c, old = candidate.name, leader.name
    draft.leader, draft.candidate = old, c
    draft.steps = [
        StepSpec(f"ask Patroni to switch over from {old} to {c}", "post_switchover", c, 4.0),
        StepSpec(f"wait for {c} to lead", "wait_leader", c, 2.0, timeout=60),
        StepSpec(f"wait for {old} to follow {c}", "wait_replica", old, 4.0, timeout=90),
    ]
    draft.changes = _role_changes(c, old)
    draft.impact = f"writes pause for a few seconds while {old} hands over to {c}"
    if candidate.lag_bytes:
        draft.warnings.append(f"{c} is {candidate.lag_bytes} bytes behind; Patroni waits for it")
    if answer.pause:
        draft.warnings.append(
            f"the cluster is paused (maintenance mode): Patroni switches over only to a named "
            f"candidate, so Watchkeeper names {c}; nothing heals the cluster if it goes wrong"
        )
    return draft


def _failover(answer: ClusterAnswer, params: dict[str, str], url_of: UrlOf) -> Draft:
    draft = Draft(risk="high")
    candidate = _pick_candidate(answer, params.get("candidate"), draft)
    if candidate is None:
        return draft
    leader = answer.leader
    c = candidate.name
    draft.leader, draft.candidate = (leader.name if leader else None), c
    draft.steps = [
        StepSpec(f"ask Patroni to fail over to {c}", "post_failover", c, 4.0),
        StepSpec(f"wait for {c} to lead", "wait_leader", c, 2.0, timeout=60),
    ]
    draft.changes = _role_changes(c, draft.leader)
    draft.impact = f"the cluster takes no writes until {c} is promoted"
    if leader is not None and leader.healthy:
        draft.warnings.append(f"the leader {leader.name} is healthy; a switchover is safer")
    if candidate.lag_bytes:
        draft.warnings.append(f"up to {candidate.lag_bytes} bytes not on {c} may be lost")
    return draft


def _need_urls(members: list[PatroniMember], url_of: UrlOf, draft: Draft) -> None:
    unlisted = [m.name for m in members if url_of(m) is None]
    if unlisted:
        # Credentials go only to the URLs of app.yaml, never to one read from the DCS.
        draft.refusal = (
            f"the REST API of {', '.join(unlisted)} is not among this cluster's URLs in app.yaml"
        )


def _restart(answer: ClusterAnswer, params: dict[str, str], url_of: UrlOf) -> Draft:
    named = answer.member(params["member"]) if "member" in params else None
    # Replicas first, so the leader restarts last and once.
    members = [named] if named else sorted(answer.members, key=lambda m: m.is_leader)
    if "at" in params:
        return _scheduled_restart(answer, members, params["at"], url_of)
    one_replica = len(members) == 1 and not members[0].is_leader
    draft = Draft(risk="low" if one_replica else "medium")
    _need_urls(members, url_of, draft)
    for m in members:
        draft.steps += [
            StepSpec(f"restart {m.name}", "post_restart", m.name, 3.0),
            StepSpec(f"wait for {m.name} to rejoin", "wait_restarted", m.name, 2.0, timeout=120),
        ]
        if m.is_leader:
            draft.warnings.append(f"restarting the leader {m.name} interrupts writes")
    draft.impact = (
        f"{members[0].name} restarts; its clients reconnect"
        if len(members) == 1
        else f"rolling restart of {len(members)} members, replicas first"
    )
    return draft


def _scheduled_restart(
    answer: ClusterAnswer, members: list[PatroniMember], at: str, url_of: UrlOf
) -> Draft:
    """Patroni restarts each member at `at` by itself; the operation ends once every
    member has the restart on its schedule (`/cluster` shows it), not after the restart."""
    draft = Draft(risk="low", schedule=at)
    names = ", ".join(m.name for m in members)
    draft.impact = f"nothing now; Patroni restarts {names} at {at}"
    if answer.pause:
        draft.refusal = "the cluster is paused; Patroni schedules no restart in maintenance mode"
    busy = [m.name for m in members if m.scheduled_restart]
    if busy:
        draft.refusal = f"{', '.join(busy)} already has a restart scheduled"
    _need_urls(members, url_of, draft)
    for m in members:
        draft.steps += [
            StepSpec(f"schedule a restart of {m.name} at {at}", "post_restart_at", m.name, 0.5),
            StepSpec(
                f"wait for {m.name} to show the scheduled restart",
                "wait_scheduled",
                m.name,
                2.0,
                timeout=30,
            ),
        ]
    draft.changes = [
        Change(member=m.name, attribute="restart_at", before=None, after=at) for m in members
    ]
    draft.warnings += [
        f"{m.name} is the leader: writes stop while it restarts" for m in members if m.is_leader
    ]
    return draft


def _reinit(answer: ClusterAnswer, params: dict[str, str], url_of: UrlOf) -> Draft:
    member = answer.member(params["member"])
    assert member is not None  # validate_params checked it
    m = member.name
    draft = Draft(risk="low", impact=f"{m} serves no reads until it is cloned again")
    leader = answer.leader
    if member.is_leader:
        draft.refusal = f"{m} is the leader; reinit rebuilds a replica from it"
    elif leader is None or not leader.healthy:
        draft.refusal = "no healthy leader to clone from"
    else:
        _need_urls([member], url_of, draft)
    draft.steps = [
        StepSpec(f"ask Patroni to rebuild {m}", "post_reinitialize", m, 2.0),
        StepSpec(f"wait for {m} to stream again", "wait_restarted", m, 20.0, timeout=1800),
    ]
    draft.changes = [Change(member=m, attribute="data", before="current", after="fresh clone")]
    return draft


def _pause(answer: ClusterAnswer, params: dict[str, str], url_of: UrlOf) -> Draft:
    draft = Draft(risk="medium", impact="Patroni stops failing over and healing until resumed")
    if answer.pause:
        draft.refusal = "the cluster is already paused"
    draft.steps = [
        StepSpec("pause Patroni (PATCH /config pause=true)", "patch_pause", seconds=0.5),
        StepSpec("wait for the cluster to report paused", "wait_paused", seconds=0.5, timeout=20),
    ]
    draft.changes = [Change(attribute="paused", before=False, after=True)]
    return draft


def _resume(answer: ClusterAnswer, params: dict[str, str], url_of: UrlOf) -> Draft:
    draft = Draft(risk="low", impact="Patroni fails over and heals the cluster again")
    if not answer.pause:
        draft.refusal = "the cluster is not paused"
    draft.steps = [
        StepSpec("resume Patroni (PATCH /config pause=false)", "patch_resume", seconds=0.5),
        StepSpec("wait for the cluster to report resumed", "wait_resumed", seconds=0.5, timeout=20),
    ]
    draft.changes = [Change(attribute="paused", before=True, after=False)]
    return draft


DRAFTERS: dict[Action, Callable[[ClusterAnswer, dict[str, str], UrlOf], Draft]] = {
    "switchover": _switchover,
    "failover": _failover,
    "restart": _restart,
    "reinit": _reinit,
    "pause": _pause,
    "resume": _resume,
}


def blueprint(
    service: str,
    answer: ClusterAnswer,
    action: Action,
    params: Mapping[str, ParamValue],
    url_of: UrlOf,
    now: datetime,
) -> tuple[Plan, Draft]:
    checked = validate_params(answer, action, params, now)
    draft = DRAFTERS[action](answer, checked, url_of)
    if answer.pause and action not in ("pause", "resume", "switchover"):
        draft.warnings.append("the cluster is paused: Patroni heals nothing if this goes wrong")
    if answer.health != "healthy":
        draft.warnings.append(f"the cluster is {answer.health} now: {answer.describe()}")
    if answer.scheduled_switchover:
        at = answer.scheduled_switchover.get("at", "a later time")
        draft.warnings.append(f"a switchover is already scheduled at {at}")
    allowed = draft.refusal is None
    plan = Plan(
        action=action,
        target=service,
        params=dict(params),
        allowed=allowed,
        reason=draft.refusal,
        risk=draft.risk,
        steps=[s.name for s in draft.steps] if allowed else [],
        changes=draft.changes if allowed else [],
        warnings=draft.warnings,
        estimated_seconds=sum(s.seconds for s in draft.steps) if allowed else 0,
        impact=draft.impact,
    )
    return plan, draft


# What a resumed operation's request steps say: they went out (or not) before the restart.
SENT_BEFORE = " (asked before the bot restarted; not asked again)"


def _sent(name: str, do: Do, member: str | None = None) -> StepSpec:
    return StepSpec(name + SENT_BEFORE, do, member)


def resumed_draft(
    answer: ClusterAnswer, action: Action, params: Mapping[str, ParamValue], plan: Plan
) -> Draft:
    """The steps of an operation a previous process started, rebuilt from the plan the
    user confirmed (the cluster has moved on since, so it cannot be drafted again). The
    caller marks the request steps as done; only the waits run, judging the outcome."""
    roles = [c for c in plan.changes if c.attribute == "role"]
    promoted = next((c.member for c in roles if c.after == "primary"), None)
    demoted = next((c.member for c in roles if c.before == "primary"), None)
    draft = Draft(risk=plan.risk, leader=demoted, candidate=promoted)
    steps = draft.steps
    if action in ("switchover", "failover"):
        if promoted is None:
            raise invalid("the confirmed plan names no member to promote")
        call: Do = "post_switchover" if action == "switchover" else "post_failover"
        steps.append(_sent(f"ask Patroni to {action} to {promoted}", call, promoted))
        steps.append(StepSpec(f"wait for {promoted} to lead", "wait_leader", promoted, timeout=60))
        if action == "switchover" and demoted:
            follow = f"wait for {demoted} to follow {promoted}"
            steps.append(StepSpec(follow, "wait_replica", demoted, timeout=90))
    elif action == "pause":
        steps.append(_sent("pause Patroni (PATCH /config pause=true)", "patch_pause"))
        steps.append(StepSpec("wait for the cluster to report paused", "wait_paused", timeout=20))
    elif action == "resume":
        steps.append(_sent("resume Patroni (PATCH /config pause=false)", "patch_resume"))
        steps.append(StepSpec("wait for the cluster to report resumed", "wait_resumed", timeout=20))
    elif action == "restart" and "at" in params:
        for name in [c.member for c in plan.changes if c.attribute == "restart_at" and c.member]:
            steps.append(_sent(f"schedule a restart of {name}", "post_restart_at", name))
            shown = f"wait for {name} to show the scheduled restart"
            steps.append(StepSpec(shown, "wait_scheduled", name, timeout=30))
    elif action in ("restart", "reinit"):
        member = params.get("member")
        names = [str(member)] if member else [m.name for m in answer.members]
        call = "post_restart" if action == "restart" else "post_reinitialize"
        for name in names:
            steps.append(_sent(f"{action} {name}", call, name))
            steps.append(
                StepSpec(f"wait for {name} to rejoin", "wait_restarted", name, timeout=1800)
            )
    else:
        raise invalid(f"{action} is not something Patroni does")
    return draft
