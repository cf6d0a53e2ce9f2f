"""The action catalog: every action the bot can run, its typed parameters and risk tier.

The catalog is the first guard's source of truth: a parameter it does not list is refused
before any policy or fleet is consulted, so a typo never becomes "use the default".
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.mentions import code
from integrations.fleet.models import Action, ParamValue, Plan, Risk

RISK_ORDER: dict[Risk, int] = {"low": 0, "medium": 1, "high": 2}
# What an action takes away while it runs, for the capacity floor: nothing, the one
# member it names, or one member at a time (rolling), always a healthy one when it can.
CapacityLoss = Literal["none", "member", "one"]
ParamKind = Literal[
    "member", "mode", "datetime", "topic", "config", "value", "group", "offset", "broker", "rate"
]

# Service and member names: plain words; no glob characters, so a target is exactly one
# service and never a pattern that could match "everything".
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MODES = ("run", "schedule")
# Kafka's own rules for topic names (legal characters, at most 249); consumer group ids may
# hold anything, but only these characters are accepted here, so a typed id is never markup.
KAFKA_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")
CONFIG_KEY = re.compile(r"[a-z][a-z0-9.]{0,99}")
# Config values: numbers, words and lists (`delete,compact`); the backend checks each key's
# own rule (docs/backends.md, "Kafka").
CONFIG_VALUE = re.compile(r"[A-Za-z0-9._,:-]{1,100}")
OFFSET_WORDS = ("earliest", "latest")
DIGITS = re.compile(r"[0-9]{1,18}")


# The request that undoes an action, drawn from the plan that was confirmed: the action's
# name and its parameters, or None when the plan does not say (bot/actions/rollback.py).
Reverse = Callable[[Plan], tuple[str, dict[str, ParamValue]] | None]


def back_to_previous_primary(plan: Plan) -> tuple[str, dict[str, ParamValue]] | None:
    """A switchover to the member that was primary before (the plan's role change)."""
    old = next(
        (
            c.member
            for c in plan.changes
            if c.attribute == "role" and c.before == "primary" and c.member
        ),
        None,
    )
    return ("switchover", {"candidate": old}) if old else None


def config_back(plan: Plan) -> tuple[str, dict[str, ParamValue]] | None:
    """The same topic config set back to its value before (the plan's change); None when
    it had none of its own (the broker's default), which `topic-config` cannot set."""
    topic, config = plan.params.get("topic"), plan.params.get("config")
    before = next((c.before for c in plan.changes if c.member is None), None)
    if not topic or not config or before is None:
        return None
    return "topic-config", {"topic": topic, "config": config, "value": str(before)}


def undone_by(action: str) -> Reverse:
    """An action undone by another that takes no parameters (pause by resume)."""

    def reverse(plan: Plan) -> tuple[str, dict[str, ParamValue]]:
        return action, {}

    return reverse


class InvalidRequest(ValueError):
    """The request itself is malformed: shown to the requester as it is."""


@dataclass(frozen=True)
class ParamSpec:
    name: str
    kind: ParamKind
    required: bool = False
    help: str = ""


@dataclass(frozen=True)
class ActionSpec:
    name: str
    # The control plane's action; None for `cancel`, which acts on an operation.
    fleet_action: Action | None
    risk: Risk
    summary: str
    params: tuple[ParamSpec, ...] = ()
    capacity_loss: CapacityLoss = "none"
    # `maintenance run|schedule`: the first word after the action is its `mode`.
    mode_word: bool = False
    # What undoes it, offered when its post-check fails (docs/backends.md); None: nothing.
    reverse: Reverse | None = None

    def usage(self) -> str:
        head = f"{self.name} {'run|schedule ' if self.mode_word else ''}<service>"
        words = [
            f"{p.name}=<{p.kind}>" if p.required else f"[{p.name}=<{p.kind}>]"
            for p in self.params
            if p.name != "mode"
        ]
        return " ".join([head, *words, "[-- reason]"])

    def risk_for(self, params: Mapping[str, ParamValue]) -> Risk:
        # Scheduling maintenance changes nothing now; running it bounces every member.
        if self.name == "maintenance" and params.get("mode") == "schedule":
            return "low"
        return self.risk


_MEMBER = ParamSpec("member", "member", help="one member of the service")

CATALOG: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(
            "restart",
            "restart",
            "medium",
            "restart the service (rolling) or one member; at=<time> schedules the restart",
            (_MEMBER, ParamSpec("at", "datetime", help="schedule it then, ISO 8601 with offset")),
            capacity_loss="one",
        ),
        ActionSpec(
            "switchover",
            "switchover",
            "medium",
            "planned primary change to a healthy replica (optionally a given candidate)",
            (ParamSpec("candidate", "member", help="the replica to promote"),),
            capacity_loss="one",
            reverse=back_to_previous_primary,
        ),
        ActionSpec(
            "failover",
            "failover",
            "high",
            "unplanned primary change: fence the primary, promote a replica",
            (ParamSpec("candidate", "member", help="the replica to promote"),),
            capacity_loss="one",
            reverse=back_to_previous_primary,
        ),
        ActionSpec(
            "replace",
            "replace",
            "medium",
            "swap a member for a fresh server",
            (ParamSpec("member", "member", required=True),),
            capacity_loss="member",
        ),
        ActionSpec(
            "reinit",
            "reinit",
            "low",
            "rebuild a replica from the primary",
            (ParamSpec("member", "member", required=True),),
            capacity_loss="member",
        ),
        ActionSpec(
            "maintenance",
            "maintenance",
            "medium",
            "run the pending maintenance now (rolling), or schedule it at=<ISO time>",
            (
                ParamSpec("mode", "mode", required=True),
                ParamSpec("at", "datetime", help="with schedule: when, ISO 8601 with offset"),
            ),
            capacity_loss="one",
            mode_word=True,
        ),
        ActionSpec(
            "pause",
            "pause",
            "medium",
            "pause HA automation (maintenance mode)",
            reverse=undone_by("resume"),
        ),
        ActionSpec("resume", "resume", "low", "resume HA automation", reverse=undone_by("pause")),
        ActionSpec(
            "rotate-credentials",
            "rotate-credentials",
            "medium",
            "issue new service credentials and revoke the old ones",
        ),
        ActionSpec(
            "topic-config",
            "topic-config",
            "high",
            "Kafka: change one topic config, e.g. retention.ms",
            (
                ParamSpec("topic", "topic", required=True),
                ParamSpec("config", "config", required=True, help="e.g. retention.ms"),
                ParamSpec("value", "value", required=True),
            ),
            reverse=config_back,
        ),
        ActionSpec(
            "offset-reset",
            "offset-reset",
            "high",
            "Kafka: move a stopped consumer group's offsets on a topic to earliest, latest or N",
            (
                ParamSpec("group", "group", required=True),
                ParamSpec("topic", "topic", required=True),
                ParamSpec("to", "offset", required=True, help="earliest, latest or an offset"),
            ),
        ),
        ActionSpec(
            "elect-leaders",
            "elect-leaders",
            "medium",
            "Kafka: move partition leadership back to the preferred replicas",
            (ParamSpec("topic", "topic", help="one topic; default every topic"),),
        ),
        ActionSpec(
            "drain-broker",
            "drain-broker",
            "medium",
            "Kafka: move every replica off a broker (partition reassignment, throttled)",
            (
                ParamSpec("broker", "broker", required=True, help="the broker id"),
                ParamSpec("throttle", "rate", help="replication bytes/s while moving"),
            ),
        ),
        ActionSpec("cancel", None, "low", "cancel a pending request or a running operation"),
    )
}
ACTION_NAMES: tuple[str, ...] = tuple(CATALOG)
FLEET_ACTIONS: tuple[str, ...] = tuple(n for n, s in CATALOG.items() if s.fleet_action)


def check_target(target: str) -> str:
    """One service, named exactly: empty, wildcard and pattern targets are errors."""
    if not target.strip():
        raise InvalidRequest("the target is empty; name exactly one service")
    if any(c in target for c in "*?[]{}") or target.lower() in ("all", "any", "everything"):
        raise InvalidRequest(
            f"{code(target)} is a pattern, not a service; actions run on exactly one named service"
        )
    if not NAME.fullmatch(target):
        raise InvalidRequest(f"{code(target)} is not a service name")
    return target


def _kafka_typed(spec: ParamSpec, text: str) -> ParamValue:
    """Kafka parameters: outside input, so each has a strict shape (docs/backends.md)."""
    if spec.kind in ("topic", "group"):
        if not KAFKA_NAME.fullmatch(text) or text in (".", ".."):
            raise InvalidRequest(f"{spec.name}: {code(text)} is not a Kafka {spec.kind} name")
        return text
    if spec.kind == "config":
        if not CONFIG_KEY.fullmatch(text):
            raise InvalidRequest(f"{spec.name}: {code(text)} is not a config name")
        return text
    if spec.kind == "value":
        if not CONFIG_VALUE.fullmatch(text):
            raise InvalidRequest(f"{spec.name}: {code(text)} is not a config value I accept")
        return text
    if spec.kind == "offset":
        if text in OFFSET_WORDS or DIGITS.fullmatch(text):
            return text
        raise InvalidRequest(f"{spec.name}: must be earliest, latest or an offset (a number)")
    # broker ids and byte rates: whole numbers
    if not DIGITS.fullmatch(text) or (spec.kind == "rate" and int(text) == 0):
        raise InvalidRequest(f"{spec.name}: {code(text)} is not a positive whole number")
    return int(text)


def typed_param(spec: ParamSpec, raw: ParamValue) -> ParamValue:
    """One parameter typed and checked; InvalidRequest naming it otherwise (a modal shows
    the error under that parameter's field)."""
    return _typed(spec, raw)


def _typed(spec: ParamSpec, raw: ParamValue) -> ParamValue:
    text = str(raw) if raw is not None else ""
    if spec.kind not in ("member", "mode", "datetime"):
        return _kafka_typed(spec, text)
    if spec.kind == "member":
        if not NAME.fullmatch(text):
            raise InvalidRequest(f"{spec.name}: {code(text)} is not a member name")
        return text
    if spec.kind == "mode":
        if text not in MODES:
            raise InvalidRequest(f"{spec.name}: must be one of {', '.join(MODES)}")
        return text
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(f"{spec.name}: {code(text)} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise InvalidRequest(f"{spec.name}: needs a UTC offset, e.g. 2025-01-06T03:00:00+00:00")
    return when.isoformat()


def validate_params(spec: ActionSpec, params: Mapping[str, ParamValue]) -> dict[str, ParamValue]:
    """The parameters, typed and checked against the catalog; InvalidRequest otherwise."""
    known = {p.name: p for p in spec.params}
    unknown = sorted(set(params) - set(known))
    if unknown:
        accepted = ", ".join(known) or "no parameters"
        typed_names = ", ".join(code(name) for name in unknown)
        raise InvalidRequest(f"`{spec.name}` takes {accepted}; not {typed_names}")
    missing = [p.name for p in spec.params if p.required and p.name not in params]
    if missing:
        raise InvalidRequest(f"`{spec.name}` needs {', '.join(missing)}")
    typed = {name: _typed(known[name], value) for name, value in sorted(params.items())}
    if spec.name == "maintenance" and (typed.get("mode") == "schedule") != ("at" in typed):
        raise InvalidRequest("`maintenance schedule` needs at=<time>; `maintenance run` takes none")
    return typed


def canonical_request(action: str, target: str, params: Mapping[str, ParamValue]) -> str:
    return json.dumps(
        {"action": action, "params": dict(params), "target": target},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def params_hash(action: str, target: str, params: Mapping[str, ParamValue]) -> str:
    """What an approval binds to: the action, its one target and its exact parameters."""
    return hashlib.sha256(canonical_request(action, target, params).encode()).hexdigest()


def at_least(a: Risk, b: Risk) -> Risk:
    return a if RISK_ORDER[a] >= RISK_ORDER[b] else b
