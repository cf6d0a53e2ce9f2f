"""Dry runs drawn from the cluster's metadata: the plan a human confirms, and the steps
that do it (run by `runner`).

The same draft serves `plan` and `start_operation` (drawn again from the cluster as it is
then), so what runs is what the metadata allowed a moment ago. Every target is resolved
here (the offsets to commit, the partitions to elect, each replica's new broker), so the
operation can check that exactly that happened. A request the broker does not offer in its
ApiVersions answer is refused in the preview with the broker's error code, never faked.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from kafka.admin import OffsetSpec
from kafka.protocol.api_key import ApiKey
from kafka.structs import TopicPartition

from integrations.fleet.errors import FleetRequestRejected
from integrations.fleet.kafka import configs
from integrations.fleet.kafka.admin import KafkaAdmin, error_name
from integrations.fleet.kafka.snapshot import (
    Metadata,
    Partition,
    committed_offsets,
    config_fact,
    group_members,
    log_offsets,
    not_preferred_fact,
    offsets_fact,
    offsets_text,
    read_configs,
    read_metadata,
    replicas_fact,
)
from integrations.fleet.models import Action, Change, ParamValue, Plan, Risk

Do = Literal[
    "alter_config",
    "wait_config",
    "reset_offsets",
    "wait_offsets",
    "elect",
    "wait_preferred",
    "set_throttle",
    "reassign",
    "wait_reassigned",
    "clear_throttle",
]
# The same shapes the catalog accepts (bot/actions/catalog.py): the port is checked on its own.
KAFKA_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}")
DIGITS = re.compile(r"[0-9]{1,18}")
UNSUPPORTED = 35  # UNSUPPORTED_VERSION: what a broker answers for a request it lacks

_NONE: frozenset[str] = frozenset()
# action -> (accepted parameters, required parameters)
PARAMS: dict[Action, tuple[frozenset[str], frozenset[str]]] = {
    "topic-config": (
        frozenset({"topic", "config", "value"}),
        frozenset({"topic", "config", "value"}),
    ),
    "offset-reset": (frozenset({"group", "topic", "to"}), frozenset({"group", "topic", "to"})),
    "elect-leaders": (frozenset({"topic"}), _NONE),
    "drain-broker": (frozenset({"broker", "throttle"}), frozenset({"broker"})),
}
NEEDS: dict[Action, tuple[ApiKey, ...]] = {
    "topic-config": (ApiKey.IncrementalAlterConfigs,),
    "offset-reset": (ApiKey.OffsetCommit, ApiKey.ListOffsets),
    "elect-leaders": (ApiKey.ElectLeaders,),
    "drain-broker": (
        ApiKey.AlterPartitionReassignments,
        ApiKey.ListPartitionReassignments,
        ApiKey.IncrementalAlterConfigs,
    ),
}
THROTTLE_RATES = ("leader.replication.throttled.rate", "follower.replication.throttled.rate")
THROTTLE_REPLICAS = (
    "leader.replication.throttled.replicas",
    "follower.replication.throttled.replicas",
)


@dataclass(frozen=True)
class StepSpec:
    name: str
    do: Do
    # The expected duration (plan estimate); waits give up after `timeout`.
    seconds: float = 1.0
    timeout: float = 0.0
    # Runs even when an earlier step failed (taking a throttle off again).
    always: bool = False


@dataclass
class Draft:
    risk: Risk
    impact: str = ""
    steps: list[StepSpec] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    refusal: str | None = None
    # Resolved targets, for the runner.
    topic: str | None = None
    config: tuple[str, str] | None = None
    group: str | None = None
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    elect: list[TopicPartition] = field(default_factory=list)
    moves: dict[TopicPartition, list[int]] = field(default_factory=dict)
    broker: int | None = None
    # Config resources the throttle sets (broker id or topic -> key -> value).
    throttle_brokers: dict[str, dict[str, str]] = field(default_factory=dict)
    throttle_topics: dict[str, dict[str, str]] = field(default_factory=dict)


def invalid(message: str) -> FleetRequestRejected:
    return FleetRequestRejected(422, message, code="invalid_params")


def _text(key: str, value: ParamValue) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise invalid(f"{key}: must be a non-empty string")
    return str(value)


def validate_params(action: Action, params: Mapping[str, ParamValue]) -> dict[str, str]:
    """The parameters as strings, each of its shape, or a 422 naming the first fault."""
    if action not in PARAMS:
        raise FleetRequestRejected(
            422, f"{action} is not something the kafka backend does", code="action_not_supported"
        )
    accepted, required = PARAMS[action]
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise invalid(f"{action} takes no parameter {', '.join(unknown)}")
    missing = sorted(required - set(params))
    if missing:
        raise invalid(f"{action} needs {', '.join(missing)}")
    checked = {key: _text(key, value) for key, value in params.items()}
    for key in ("topic", "group"):
        if key in checked and (
            not KAFKA_NAME.fullmatch(checked[key]) or checked[key] in (".", "..")
        ):
            raise invalid(f"{key}: not a Kafka {key} name")
    to = checked.get("to")
    if to is not None and to not in ("earliest", "latest") and not DIGITS.fullmatch(to):
        raise invalid("to: must be earliest, latest or an offset")
    for key in ("broker", "throttle"):
        if key in checked and (not DIGITS.fullmatch(checked[key]) or int(checked[key]) < 0):
            raise invalid(f"{key}: must be a whole number")
    if checked.get("throttle") == "0":
        raise invalid("throttle: must be above 0 bytes/s")
    if action == "topic-config":
        found = configs.problem(checked["config"], checked["value"])
        if found:
            raise invalid(found)
    return checked


def _rate(bytes_per_second: int) -> str:
    size = float(bytes_per_second)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:g} {unit}/s"
        size /= 1024
    return f"{size:g} TiB/s"


@dataclass(frozen=True)
class Context:
    admin: KafkaAdmin
    meta: Metadata
    throttle: int  # the default replication throttle, bytes/s
    reassign_timeout: float


def _no_topic(ctx: Context, topic: str, draft: Draft) -> bool:
    if not ctx.meta.topic(topic):
        draft.refusal = f"the cluster has no topic {topic}"
        return True
    return False


async def _topic_config(ctx: Context, params: dict[str, str]) -> Draft:
    topic, key, value = params["topic"], params["config"], params["value"]
    draft = Draft(risk="high", topic=topic, config=(key, value))
    if _no_topic(ctx, topic, draft):
        return draft
    before = (await read_configs(ctx.admin, [topic])).get(topic, {}).get(key)
    if before == value:
        draft.refusal = f"{key} of {topic} is already {value}"
        return draft
    factor = max(len(p.replicas) for p in ctx.meta.topic(topic))
    if key == "min.insync.replicas" and int(value) > factor:
        draft.refusal = (
            f"{topic} has {factor} replica(s) per partition; min.insync.replicas={value} would "
            "refuse every write with acks=all"
        )
        return draft
    # No `validate_only` request for a dry run: Tansu applies a validate-only
    # IncrementalAlterConfigs (docs/backends.md, "Kafka"), and a preview must change nothing.
    # The value was checked against its key's rule (`configs`) instead.
    draft.steps = [
        StepSpec(f"set {key} of {topic} to {value} (IncrementalAlterConfigs)", "alter_config", 0.5),
        StepSpec(f"read {key} of {topic} back from the broker", "wait_config", 0.5, timeout=30),
    ]
    draft.changes = [Change(attribute=config_fact(topic, key), before=before, after=value)]
    draft.impact = f"{topic}: {key} {before or '(broker default)'} → {value}"
    if key.startswith("retention.") and before is not None and _smaller(value, before):
        draft.warnings.append(
            f"{topic} keeps less: data past the new {key} is deleted at the next log cleanup, "
            "also for consumers that have not read it"
        )
    return draft


def _smaller(new: str, old: str) -> bool:
    try:
        n, o = int(new), int(old)
    except ValueError:
        return False
    return (o == -1 and n != -1) or (n != -1 and n < o)


async def _offset_reset(ctx: Context, params: dict[str, str]) -> Draft:
    group, topic, to = params["group"], params["topic"], params["to"]
    draft = Draft(risk="high", group=group, topic=topic)
    if _no_topic(ctx, topic, draft):
        return draft
    state, active = await group_members(ctx.admin, group)
    if active:
        draft.refusal = (
            f"consumer group {group} has {active} active member(s) ({state}); stop its "
            "consumers first: Kafka takes offsets from outside a group only while it is empty"
        )
        return draft
    partitions = [p.tp for p in ctx.meta.topic(topic)]
    committed = {
        tp: o for tp, o in (await committed_offsets(ctx.admin, group)).items() if tp.topic == topic
    }
    earliest = await log_offsets(ctx.admin, partitions, OffsetSpec.EARLIEST)
    latest = await log_offsets(ctx.admin, partitions, OffsetSpec.LATEST)
    for tp in partitions:
        low, high = earliest[tp], latest[tp]
        wanted = low if to == "earliest" else high if to == "latest" else int(to)
        draft.offsets[tp] = min(max(wanted, low), high)  # as kafka-consumer-groups clamps
    if all(committed.get(tp) == o for tp, o in draft.offsets.items()):
        draft.refusal = f"{group} is already at {to} on {topic}"
        return draft
    back = sum(max(0, committed.get(tp, latest[tp]) - o) for tp, o in draft.offsets.items())
    ahead = sum(max(0, o - committed.get(tp, o)) for tp, o in draft.offsets.items())
    if back:
        draft.warnings.append(f"{group} reads {back} message(s) of {topic} again")
    if ahead:
        draft.warnings.append(f"{group} skips {ahead} message(s) of {topic} it has not read")
    before = offsets_text({tp.partition: o for tp, o in committed.items()}) or "none committed"
    after = offsets_text({tp.partition: o for tp, o in draft.offsets.items()})
    draft.changes = [Change(attribute=offsets_fact(group, topic), before=before, after=after)]
    draft.steps = [
        StepSpec(
            f"check {group} is still empty, then commit its offsets on {topic}",
            "reset_offsets",
            0.5,
        ),
        StepSpec(f"read {group}'s committed offsets back", "wait_offsets", 0.5, timeout=30),
    ]
    draft.impact = f"{group} on {topic}: offsets {before} → {after}; its consumers resume there"
    return draft


def _electable(meta: Metadata, p: Partition) -> bool:
    preferred = p.preferred
    return preferred is not None and preferred in p.isr and preferred in meta.brokers


async def _elect_leaders(ctx: Context, params: dict[str, str]) -> Draft:
    topic = params.get("topic")
    draft = Draft(risk="medium", topic=topic)
    if topic is not None and _no_topic(ctx, topic, draft):
        return draft
    off = ctx.meta.not_preferred(topic)
    draft.elect = [p.tp for p in off if _electable(ctx.meta, p)]
    stuck = len(off) - len(draft.elect)
    where = topic or "the cluster"
    if not off:
        draft.refusal = f"every partition of {where} is led by its preferred replica"
        return draft
    if not draft.elect:
        draft.refusal = f"no preferred replica of the {stuck} partition(s) led elsewhere is in sync"
        return draft
    if stuck:
        draft.warnings.append(f"{stuck} partition(s) stay: their preferred replica is not in sync")
    n = len(draft.elect)
    draft.steps = [
        StepSpec(
            f"ask the controller to elect the preferred leader of {n} partition(s)", "elect", 1.0
        ),
        StepSpec(
            "wait for those partitions to be led by their preferred replica",
            "wait_preferred",
            2.0,
            timeout=60,
        ),
    ]
    draft.changes = [Change(attribute=not_preferred_fact(topic), before=len(off), after=stuck)]
    draft.impact = f"{n} partition(s) of {where} change leader; their clients reconnect to it"
    return draft


def _throttle(ctx: Context, draft: Draft, rate: int) -> None:
    """The throttle kafka-reassign-partitions sets: a rate on every broker taking part and,
    per topic, the replicas it applies to (the current ones lead, the new ones follow)."""
    involved: set[int] = set()
    leaders: dict[str, list[str]] = {}
    followers: dict[str, list[str]] = {}
    by_tp = {p.tp: p for p in ctx.meta.partitions}
    for tp, new in draft.moves.items():
        old = by_tp[tp].replicas
        involved |= set(old) | set(new)
        leaders.setdefault(tp.topic, []).extend(f"{tp.partition}:{b}" for b in old)
        followers.setdefault(tp.topic, []).extend(
            f"{tp.partition}:{b}" for b in new if b not in old
        )
    draft.throttle_brokers = {
        str(b): {k: str(rate) for k in THROTTLE_RATES} for b in sorted(involved)
    }
    draft.throttle_topics = {
        t: dict(zip(THROTTLE_REPLICAS, (",".join(leaders[t]), ",".join(followers[t])), strict=True))
        for t in sorted(leaders)
    }


async def _drain_broker(ctx: Context, params: dict[str, str]) -> Draft:
    broker = int(params["broker"])
    rate = int(params.get("throttle", ctx.throttle))
    draft = Draft(risk="medium", broker=broker)
    meta = ctx.meta
    if broker not in meta.known_brokers:
        raise invalid(f"broker: the cluster has no broker {broker}")
    held = meta.replicas_on(broker)
    if not held:
        draft.refusal = f"broker {broker} holds no replicas"
        return draft
    load = Counter({b: len(meta.replicas_on(b)) for b in meta.brokers if b != broker})
    for p in held:
        spare = [b for b in load if b not in p.replicas]
        if not spare:
            draft.refusal = (
                f"{p.topic}-{p.index} already has a replica on every other live broker; "
                "add a broker before draining this one"
            )
            return draft
        target = min(spare, key=lambda b: (load[b], b))
        load[target] += 1
        draft.moves[p.tp] = [target if r == broker else r for r in p.replicas]
    _throttle(ctx, draft, rate)
    n = len(draft.moves)
    to = sorted({b for new in draft.moves.values() for b in new} - {broker})
    draft.steps = [
        StepSpec(
            f"throttle replication to {_rate(rate)} on brokers {', '.join(draft.throttle_brokers)}",
            "set_throttle",
            0.5,
        ),
        StepSpec(
            f"move {n} replica(s) off broker {broker} (AlterPartitionReassignments)",
            "reassign",
            1.0,
        ),
        StepSpec(
            f"wait until broker {broker} holds no replica",
            "wait_reassigned",
            30.0,
            timeout=ctx.reassign_timeout,
        ),
        StepSpec("take the replication throttle off", "clear_throttle", 0.5, always=True),
    ]
    draft.changes = [Change(attribute=replicas_fact(broker), before=len(held), after=0)]
    draft.impact = (
        f"{n} replica(s) move from broker {broker} to brokers {', '.join(map(str, to))}, "
        f"replication throttled to {_rate(rate)}; broker {broker} keeps running, empty"
    )
    if broker == meta.controller:
        draft.warnings.append(f"broker {broker} is the controller; draining does not move that")
    led = sum(p.leader == broker for p in held)
    if led:
        draft.warnings.append(f"{led} partition(s) led by broker {broker} change leader")
    return draft


# What each action's steps do, in the order its drafter lists them, and a wait's timeout
# (None: the drain's `reassign_timeout`): to watch a confirmed plan again after a restart.
STEP_DOS: dict[Action, tuple[tuple[Do, float | None], ...]] = {
    "topic-config": (("alter_config", 0), ("wait_config", 30)),
    "offset-reset": (("reset_offsets", 0), ("wait_offsets", 30)),
    "elect-leaders": (("elect", 0), ("wait_preferred", 60)),
    "drain-broker": (
        ("set_throttle", 0),
        ("reassign", 0),
        ("wait_reassigned", None),
        ("clear_throttle", 0),
    ),
}


def _offsets_of(topic: str, text: str) -> dict[TopicPartition, int]:
    """`0:5 1:7` (a plan's `after`) back into offsets per partition."""
    found = {}
    for pair in text.split():
        partition, _, offset = pair.partition(":")
        if not (partition.isdigit() and offset.isdigit()):
            raise invalid(f"the confirmed plan's offsets {text!r} cannot be read")
        found[TopicPartition(topic, int(partition))] = int(offset)
    return found


def resumed_draft(
    action: Action,
    params: Mapping[str, ParamValue],
    plan: Plan,
    meta: Metadata,
    topic_throttles: list[str],
    reassign_timeout: float,
) -> Draft:
    """The draft of a confirmed plan a previous process of the bot started, rebuilt from
    the plan and the cluster as it is now: what its waits check, and for a drain which
    throttle to take off (the rates on every live broker, the replica lists on every topic
    that has one), since the moves it resolved died with that process."""
    checked = validate_params(action, params)
    dos = STEP_DOS[action]
    if len(plan.steps) != len(dos):
        raise FleetRequestRejected(
            409, "the confirmed plan's steps are not this backend's", code="operation_refused"
        )
    draft = Draft(risk=plan.risk)
    draft.steps = [
        StepSpec(
            name, do, timeout=reassign_timeout if t is None else t, always=do == "clear_throttle"
        )
        for name, (do, t) in zip(plan.steps, dos, strict=True)
    ]
    topic = checked.get("topic")
    draft.topic = topic
    if action == "topic-config":
        draft.config = (checked["config"], checked["value"])
    elif action == "offset-reset" and topic is not None:
        draft.group = checked["group"]
        after = plan.changes[0].after if plan.changes else None
        draft.offsets = _offsets_of(topic, str(after or ""))
    elif action == "elect-leaders":
        draft.elect = [
            p.tp for p in meta.partitions if topic in (None, p.topic) and _electable(meta, p)
        ]
    elif action == "drain-broker":
        draft.broker = int(checked["broker"])
        draft.throttle_brokers = {str(b): dict.fromkeys(THROTTLE_RATES, "") for b in meta.brokers}
        draft.throttle_topics = {t: dict.fromkeys(THROTTLE_REPLICAS, "") for t in topic_throttles}
    return draft


DRAFTERS: dict[Action, Callable[[Context, dict[str, str]], Awaitable[Draft]]] = {
    "topic-config": _topic_config,
    "offset-reset": _offset_reset,
    "elect-leaders": _elect_leaders,
    "drain-broker": _drain_broker,
}


async def blueprint(
    service: str,
    admin: KafkaAdmin,
    action: Action,
    params: Mapping[str, ParamValue],
    *,
    throttle: int,
    reassign_timeout: float,
) -> tuple[Plan, Draft]:
    checked = validate_params(action, params)
    lacking = await admin.supports(*NEEDS[action])
    if lacking:
        names = ", ".join(f"{k.name} (API key {k.value})" for k in lacking)
        draft = Draft(risk="medium")
        draft.refusal = (
            f"the broker does not offer {names} in its ApiVersions answer; it would answer "
            f"{error_name(UNSUPPORTED)}"
        )
    else:
        ctx = Context(admin, await read_metadata(admin), throttle, reassign_timeout)
        draft = await DRAFTERS[action](ctx, checked)
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
