"""Dry runs drawn from a master's real state: the plan a human confirms, and the steps
that carry it out (run by `fleet`, drawn again from the state at start).

What Sentinel can do and Watchkeeper maps to the action catalog (docs/backends.md):

- `switchover` and `failover`: `SENTINEL FAILOVER <master>` on one Sentinel, which then
  promotes a replica of its own choosing and re-points the others. A switchover needs a
  serving master; a failover does not. Sentinel cannot be told which replica to promote:
  the plan predicts it as Sentinel ranks them, and a `candidate=` other than that
  prediction is refused rather than hoped for.
- `reinit member=<replica>`: re-sync one replica: `REPLICAOF <master>` when it replicates
  from anywhere else; when it already follows the master (where `REPLICAOF` is a no-op),
  `CLIENT KILL TYPE master` on it, so it reconnects and syncs again (partial when the
  master's backlog still holds its offset, full otherwise).

Everything else in the catalog has no Redis or Sentinel command behind it and is refused
with the reason, in the preview, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from integrations.fleet.errors import FleetRequestRejected
from integrations.fleet.models import Action, Change, ParamValue, Plan, Risk
from integrations.fleet.redis_sentinel.parse import Addr, SentinelReplica
from integrations.fleet.redis_sentinel.state import MasterState

Do = Literal["failover", "wait_promoted", "wait_settled", "replicaof", "kill_link", "wait_linked"]

REFUSED: dict[Action, str] = {
    "restart": (
        "Redis has no command that restarts it: SHUTDOWN stops the server and only its "
        "supervisor (systemd, Kubernetes) starts it again, which Watchkeeper does not drive"
    ),
    "replace": "replacing a node needs a new server provisioned; Sentinel cannot do that",
    "maintenance": "Sentinel has no maintenance to run or schedule",
    "pause": (
        "Sentinel has no switch that pauses automatic failover; changing its quorum or "
        "timeouts to get one would be a configuration change, not a repair"
    ),
    "resume": "Sentinel has no paused state to resume from",
    "rotate-credentials": (
        "rotating Redis ACL passwords cuts off every client holding them; do it in the "
        "deployment's secret store"
    ),
}
PARAMS: dict[Action, tuple[frozenset[str], frozenset[str]]] = {
    "switchover": (frozenset({"candidate"}), frozenset()),
    "failover": (frozenset(), frozenset()),
    "reinit": (frozenset({"member"}), frozenset({"member"})),
}
# How Sentinel ranks replicas of equal replica-priority (sentinel.c, compareSlavesForPromotion).
RANKING = (
    "the largest replication offset in Sentinel's own last INFO of each replica (up to "
    "10 s old, 1 s during a failover), then the smallest run id,"
)


@dataclass(frozen=True)
class StepSpec:
    name: str
    do: Do
    node: Addr | None = None
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
    # Resolved targets, for the steps.
    sentinel: Addr | None = None
    master: Addr | None = None
    # The replicas Sentinel may promote; `predicted` when that is exactly one.
    pool: list[Addr] = field(default_factory=list)
    predicted: Addr | None = None
    # A failover tolerates nodes that do not answer (the old master is likely down).
    tolerate_silent: bool = False


@dataclass(frozen=True)
class Timeouts:
    failover: float = 60.0
    resync: float = 300.0


def _check_params(action: Action, params: Mapping[str, ParamValue]) -> dict[str, str]:
    if action not in PARAMS:
        return {}
    accepted, required = PARAMS[action]
    unknown = sorted(set(params) - accepted)
    missing = sorted(required - set(params))
    if unknown or missing:
        fault = (
            f"takes no parameter {', '.join(unknown)}" if unknown else f"needs {', '.join(missing)}"
        )
        raise FleetRequestRejected(422, f"{action} {fault}", code="invalid_params")
    checked = {}
    for key, value in params.items():
        if not isinstance(value, str) or not value:
            raise FleetRequestRejected(
                422, f"{key}: must be a non-empty string", code="invalid_params"
            )
        checked[key] = value
    return checked


def _lag(state: MasterState, replica: SentinelReplica) -> str:
    lag = state.lag(replica.addr)
    return "an unknown number of bytes" if lag is None else f"{lag} bytes"


def _with_lag(state: MasterState, replicas: list[SentinelReplica]) -> str:
    return ", ".join(f"{r.addr.name} ({_lag(state, r)} behind)" for r in replicas)


def _refuse_candidate(state: MasterState, named: str, best: list[SentinelReplica]) -> str | None:
    if named == state.master.addr.name:
        return f"{named} is already the master"
    if state.replica(named) is None:
        return f"{named} is not a replica Sentinel knows"
    names = [r.addr.name for r in best]
    if named not in names:
        return (
            f"Sentinel promotes only a replica of the lowest replica-priority ({', '.join(names)})"
            f" and cannot be told which; lower {named}'s replica-priority to make it the choice"
        )
    if len(best) > 1:
        return (
            f"{', '.join(names)} share the lowest replica-priority, so Sentinel picks among "
            f"them by the offsets it reads when it starts and cannot be told which; lower "
            f"{named}'s replica-priority to make it the choice"
        )
    return None


def _promotion(state: MasterState, params: dict[str, str], draft: Draft, t: Timeouts) -> None:
    """The part switchover and failover share: whom Sentinel may promote, and the steps.

    The preview can predict the replica only when one has the lowest replica-priority:
    between equals Sentinel ranks by the replication offset it last read, and those move
    every few seconds (Sentinel's own hello messages go through the master), so the plan
    then names the replicas it picks among, and promises none of them.
    """
    if state.master.failing_over:
        draft.refusal = "a failover of this master is already in progress"
        return
    order = state.promotion_order()
    if not order:
        draft.refusal = (
            "no replica Sentinel would promote (each is down, disconnected or has "
            "replica-priority 0)"
        )
        return
    best = [r for r in order if r.priority == order[0].priority]
    named = params.get("candidate")
    if named is not None:
        draft.refusal = _refuse_candidate(state, named, best)
        if draft.refusal:
            return
    old = state.master.addr
    draft.sentinel, draft.master = state.source, old
    draft.pool = [r.addr for r in best]
    draft.predicted = best[0].addr if len(best) == 1 else None
    who = (
        draft.predicted.name
        if draft.predicted
        else "one of " + ", ".join(a.name for a in draft.pool)
    )
    draft.steps = [
        StepSpec(
            f"ask Sentinel {state.source} to fail over {state.name} (SENTINEL FAILOVER)",
            "failover",
            seconds=0.5,
        ),
        StepSpec(f"wait for Sentinel to promote {who}", "wait_promoted", None, 3.0, t.failover),
        StepSpec(
            "wait for every Sentinel to name the new master and every replica to follow it",
            "wait_settled",
            None,
            10.0,
            t.failover,
        ),
    ]
    draft.changes = [Change(member=old.name, attribute="role", before="primary", after="replica")]
    if draft.predicted:
        draft.changes.insert(
            0,
            Change(
                member=draft.predicted.name, attribute="role", before="replica", after="primary"
            ),
        )
        draft.warnings.append(
            f"Sentinel promotes {draft.predicted.name}: the one replica with the lowest "
            f"replica-priority ({best[0].priority})"
        )
    else:
        draft.warnings.append(
            f"Sentinel will promote one of {_with_lag(state, best)}: they share "
            f"replica-priority {best[0].priority}, so {RANKING} decides. Watchkeeper cannot "
            "predict which, nor make Sentinel choose."
        )
    if not state.quorum_ok:
        draft.warnings.append(
            f"Sentinel quorum is not reachable ({state.quorum_text}); SENTINEL FAILOVER does "
            "not need it, but the Sentinels may not all follow the new master"
        )


def _switchover(state: MasterState, params: dict[str, str], t: Timeouts) -> Draft:
    draft = Draft(risk="medium")
    if not state.master_ok:
        draft.refusal = "the master is not serving; a switchover needs it (use failover)"
        return draft
    _promotion(state, params, draft, t)
    if draft.pool:
        best = [r for r in state.replicas if r.addr in draft.pool]
        draft.impact = (
            f"writes to {state.master.addr.name} fail for a few seconds, until clients ask "
            "Sentinel for the new master; SENTINEL FAILOVER does not wait for replicas to "
            f"catch up, so writes not yet on the promoted one are lost (now: "
            f"{_with_lag(state, best)})"
        )
    return draft


def _failover(state: MasterState, params: dict[str, str], t: Timeouts) -> Draft:
    draft = Draft(risk="high", tolerate_silent=True)
    _promotion(state, params, draft, t)
    if draft.pool:
        draft.impact = f"{state.name} takes no writes until Sentinel has promoted a replica"
        if state.master_ok:
            draft.warnings.append(
                f"the master {state.master.addr.name} is serving; a switchover checks that "
                "and is the same Sentinel command"
            )
    return draft


def _reinit(state: MasterState, params: dict[str, str], t: Timeouts) -> Draft:
    named = params["member"]
    draft = Draft(risk="low")
    replica = state.replica(named)
    if named == state.master.addr.name:
        draft.refusal = f"{named} is the master; re-sync re-points a replica to it"
        return draft
    if replica is None:
        known = ", ".join(r.addr.name for r in state.replicas) or "none"
        draft.refusal = f"{named} is not a replica Sentinel knows (replicas: {known})"
        return draft
    if not state.master_ok:
        draft.refusal = "the master is not serving; there is nothing to re-sync from"
        return draft
    node = state.nodes.get(replica.addr)
    own = node.replication if node else None
    if own is None:
        draft.refusal = f"{named} does not answer ({node.error if node else 'not read'})"
        return draft
    master = state.master.addr
    draft.master = master
    if own.role == "replica" and own.master == master:
        first = StepSpec(
            f"drop {named}'s link to {master} (CLIENT KILL TYPE master) so it syncs again",
            "kill_link",
            replica.addr,
            0.5,
        )
        draft.warnings.append(
            f"{named} already replicates from {master} (REPLICAOF would change nothing): it "
            "reconnects and asks for a partial sync, or a full one when the master's backlog "
            "no longer holds its offset (the master then forks to write a snapshot)"
        )
        before = str(master)
    else:
        first = StepSpec(f"point {named} at {master} (REPLICAOF)", "replicaof", replica.addr, 0.5)
        before = str(own.master) if own.role == "replica" and own.master else "itself (a master)"
        draft.warnings.append(
            f"{named} replicates from {before}: pointed at {master} it drops its data and "
            "takes a full copy unless it shares the master's replication history"
        )
    draft.steps = [
        first,
        StepSpec(
            f"wait for {named} to sync from {master} and link up",
            "wait_linked",
            replica.addr,
            5.0,
            t.resync,
        ),
    ]
    draft.changes = [
        Change(member=named, attribute="replicates_from", before=before, after=str(master))
    ]
    behind = _lag(state, replica)
    draft.impact = f"{named} serves stale data, or none, until it has synced ({behind} behind now)"
    return draft


def blueprint(
    state: MasterState, action: Action, params: Mapping[str, ParamValue], timeouts: Timeouts
) -> tuple[Plan, Draft]:
    checked = _check_params(action, params)
    if action in REFUSED:
        draft = Draft(risk="medium", refusal=REFUSED[action])
    elif action == "switchover":
        draft = _switchover(state, checked, timeouts)
    elif action == "failover":
        draft = _failover(state, checked, timeouts)
    elif action == "reinit":
        draft = _reinit(state, checked, timeouts)
    else:
        draft = Draft(risk="medium", refusal=f"{action} is not something Sentinel does")
    if draft.refusal is None and state.health != "healthy":
        draft.warnings.append(f"{state.name} is {state.health} now: {state.describe()}")
    allowed = draft.refusal is None
    plan = Plan(
        action=action,
        target=state.name,
        params=dict(params),
        allowed=allowed,
        reason=draft.refusal,
        risk=draft.risk,
        steps=[s.name for s in draft.steps] if allowed else [],
        changes=draft.changes if allowed else [],
        warnings=draft.warnings if allowed else [],
        estimated_seconds=sum(s.seconds for s in draft.steps) if allowed else 0,
        impact=draft.impact if allowed else "",
    )
    return plan, draft


def _addr_of(state: MasterState, name: str) -> Addr:
    """The node a member name names: from the set as it is, else from `host-port` itself."""
    known = [state.master.addr, *(r.addr for r in state.replicas)]
    found = next((a for a in known if a.name == name), None)
    if found is not None:
        return found
    host, _, port = name.rpartition("-")
    return Addr(host, int(port)) if host and port.isdigit() else Addr(name, 0)


def resumed_draft(
    state: MasterState,
    action: Action,
    params: Mapping[str, ParamValue],
    plan: Plan,
    timeouts: Timeouts,
) -> Draft:
    """The draft of a confirmed plan that a previous process of the bot started: the same
    steps, the targets read back from the plan (never chosen again from the set as it is
    now, which the operation itself has changed)."""
    role = {c.after: c.member for c in plan.changes if c.attribute == "role" and c.member}
    draft = Draft(risk=plan.risk, impact=plan.impact, tolerate_silent=action == "failover")
    if action in ("switchover", "failover") and role.get("replica") and len(plan.steps) == 3:
        old = _addr_of(state, role["replica"])
        promoted = role.get("primary")
        draft.sentinel, draft.master = state.source, old
        draft.predicted = _addr_of(state, promoted) if promoted else None
        everyone = [state.master.addr, *(r.addr for r in state.replicas)]
        draft.pool = [draft.predicted] if draft.predicted else [a for a in everyone if a != old]
        dos: list[Do] = ["failover", "wait_promoted", "wait_settled"]
        waits = [0.0, timeouts.failover, timeouts.failover]
        draft.steps = [
            StepSpec(name, do, timeout=wait)
            for name, do, wait in zip(plan.steps, dos, waits, strict=True)
        ]
        return draft
    change = next((c for c in plan.changes if c.attribute == "replicates_from"), None)
    member = params.get("member")
    if action == "reinit" and change and isinstance(member, str) and len(plan.steps) == 2:
        replica = _addr_of(state, member)
        draft.master = Addr.parse(str(change.after))
        first: Do = "replicaof" if "(REPLICAOF)" in plan.steps[0] else "kill_link"
        draft.steps = [
            StepSpec(plan.steps[0], first, replica),
            StepSpec(plan.steps[1], "wait_linked", replica, timeout=timeouts.resync),
        ]
        return draft
    raise FleetRequestRejected(
        422, f"the confirmed plan of {action} cannot be watched again", code="invalid_params"
    )
