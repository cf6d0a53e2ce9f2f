"""What the cluster says now: brokers, controller, partitions, topic configs, group lag,
and the `Service` the core sees (health per docs/fleet-api.yaml, generalised to the
configured broker count: docs/backends.md, "Kafka").

Kafka's metadata lists the live brokers only; a broker that partitions still name as a
replica but that the metadata does not list is shown as a stopped member.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from kafka.admin import ConfigResource, ConfigResourceType, OffsetSpec
from kafka.structs import TopicPartition

from integrations.fleet.errors import FleetError, FleetProtocolError
from integrations.fleet.kafka.admin import KafkaAdmin
from integrations.fleet.kafka.configs import KEYS
from integrations.fleet.models import ConsumerGroup, Health, Member, Service, Topic

NOT_PREFERRED = "partitions not led by their preferred replica"


def broker_name(broker_id: int) -> str:
    return f"broker-{broker_id}"


def replicas_fact(broker_id: int) -> str:
    return f"replicas on broker {broker_id}"


def config_fact(topic: str, key: str) -> str:
    return f"topic {topic} {key}"


def offsets_fact(group: str, topic: str) -> str:
    return f"group {group} offsets on {topic}"


def not_preferred_fact(topic: str | None) -> str:
    return NOT_PREFERRED if topic is None else f"{NOT_PREFERRED} of {topic}"


def offsets_text(offsets: dict[int, int]) -> str:
    """`0:5 1:7`: partition:offset, in partition order."""
    return " ".join(f"{p}:{o}" for p, o in sorted(offsets.items()))


@dataclass(frozen=True)
class Partition:
    topic: str
    index: int
    leader: int  # -1: no leader (offline)
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    internal: bool = False

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.index)

    @property
    def offline(self) -> bool:
        return self.leader < 0

    @property
    def under_replicated(self) -> bool:
        return len(self.isr) < len(self.replicas)

    @property
    def preferred(self) -> int | None:
        return self.replicas[0] if self.replicas else None

    @property
    def on_preferred(self) -> bool:
        return self.leader == self.preferred


@dataclass
class Metadata:
    controller: int | None
    brokers: dict[int, str]  # live broker id -> host:port
    partitions: list[Partition] = field(default_factory=list)

    def topic(self, name: str) -> list[Partition]:
        return [p for p in self.partitions if p.topic == name]

    @property
    def topic_names(self) -> list[str]:
        return sorted({p.topic for p in self.partitions})

    @property
    def known_brokers(self) -> list[int]:
        """Live brokers and brokers that partitions still name."""
        named = {b for p in self.partitions for b in p.replicas}
        return sorted(set(self.brokers) | named)

    def replicas_on(self, broker: int) -> list[Partition]:
        return [p for p in self.partitions if broker in p.replicas]

    def not_preferred(self, topic: str | None = None) -> list[Partition]:
        return [
            p for p in self.partitions if (topic is None or p.topic == topic) and not p.on_preferred
        ]


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FleetProtocolError(f"kafka metadata: {what} is not a number")
    return value


def parse_metadata(cluster: dict[str, Any], topics: list[dict[str, Any]]) -> Metadata:
    """`describe_cluster()` and `describe_topics()` answers, checked as they are read."""
    try:
        brokers = {
            _int(b["broker_id"], "broker id"): f"{b.get('host')}:{b.get('port')}"
            for b in cluster["brokers"]
        }
        controller = cluster.get("controller_id")
        meta = Metadata(
            controller if isinstance(controller, int) and controller >= 0 else None, brokers
        )
        for topic in topics:
            if topic.get("error_code"):
                continue  # deleted between listing and describing
            for p in topic.get("partitions", []):
                meta.partitions.append(
                    Partition(
                        topic=str(topic["name"]),
                        index=_int(p["partition_index"], "partition"),
                        leader=_int(p["leader_id"], "leader"),
                        replicas=tuple(_int(r, "replica") for r in p["replica_nodes"]),
                        isr=tuple(_int(r, "isr") for r in p["isr_nodes"]),
                        internal=bool(topic.get("is_internal")),
                    )
                )
    except (KeyError, TypeError) as exc:
        raise FleetProtocolError(f"kafka metadata: missing {exc}") from None
    return meta


async def read_metadata(admin: KafkaAdmin, topics: list[str] | None = None) -> Metadata:
    cluster = await admin.call("DescribeCluster", lambda c: c.describe_cluster())
    described = await admin.call("Metadata", lambda c: c.describe_topics(topics))
    return parse_metadata(cluster, described)


async def read_configs(
    admin: KafkaAdmin, topics: list[str], keys: frozenset[str] = KEYS
) -> dict[str, dict[str, str]]:
    """The changeable configs (`configs.KEYS`, or `keys`) of each topic, as reported."""
    if not topics:
        return {}
    resources = [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics]
    # 'all', not the default 'modified': some brokers mark a changed value as a default.
    answer = await admin.call(
        "DescribeConfigs", lambda c: c.describe_configs(resources, config_filter="all")
    )
    found: dict[str, dict[str, str]] = {}
    for topic, entries in (answer.get("topic") or {}).items():
        found[str(topic)] = {
            str(k): str(v["value"])
            for k, v in entries.items()
            if k in keys and isinstance(v, dict) and v.get("value") is not None
        }
    return found


async def committed_offsets(admin: KafkaAdmin, group: str) -> dict[TopicPartition, int]:
    answer = await admin.call("OffsetFetch", lambda c: c.list_group_offsets({group: None}))
    return {tp: int(om.offset) for tp, om in (answer.get(group) or {}).items() if om.offset >= 0}


async def log_offsets(
    admin: KafkaAdmin, partitions: list[TopicPartition], spec: OffsetSpec
) -> dict[TopicPartition, int]:
    if not partitions:
        return {}
    answer = await admin.call(
        "ListOffsets", lambda c: c.list_partition_offsets({tp: spec for tp in partitions})
    )
    return {tp: int(found.offset) for tp, found in answer.items()}


async def group_members(admin: KafkaAdmin, group: str) -> tuple[str, int]:
    """(state, active members) of a consumer group, as its coordinator says."""
    answer = await admin.call("DescribeGroups", lambda c: c.describe_groups([group]))
    found = answer.get(group) or {}
    if found.get("error"):
        raise FleetProtocolError(f"DescribeGroups {group}: {found['error']}")
    return str(found.get("group_state") or "Unknown"), len(found.get("members") or [])


async def read_group(admin: KafkaAdmin, group: str) -> tuple[ConsumerGroup, dict[str, str]]:
    """The group's lag, and its committed offsets per topic as facts for post-checks."""
    try:
        state, members = await group_members(admin, group)
        committed = await committed_offsets(admin, group)
        ends = await log_offsets(admin, list(committed), OffsetSpec.LATEST)
    except FleetError as exc:
        return ConsumerGroup(name=group, state="unknown", members=0, error=str(exc)), {}
    by_topic: Counter[str] = Counter()
    per_topic: dict[str, dict[int, int]] = {}
    for tp, offset in committed.items():
        by_topic[tp.topic] += max(0, ends.get(tp, offset) - offset)
        per_topic.setdefault(tp.topic, {})[tp.partition] = offset
    facts = {offsets_fact(group, t): offsets_text(o) for t, o in per_topic.items()}
    return (
        ConsumerGroup(
            name=group,
            state=state,
            members=members,
            lag=sum(by_topic.values()),
            lag_by_topic=dict(sorted(by_topic.items())),
        ),
        facts,
    )


def health(
    meta: Metadata, expected_brokers: int, groups: list[ConsumerGroup], max_lag: int | None
) -> Health:
    """down: no broker, an offline partition, or two brokers short of `expected_brokers`
    (three expected: below two, as docs/fleet-api.yaml says); degraded: one short, an
    under-replicated partition, or a watched group past `max_lag`."""
    live = len(meta.brokers)
    if live == 0 or any(p.offline for p in meta.partitions) or live < expected_brokers - 1:
        return "down"
    lagging = max_lag is not None and any((g.lag or 0) > max_lag for g in groups)
    if live < expected_brokers or any(p.under_replicated for p in meta.partitions) or lagging:
        return "degraded"
    return "healthy"


def members(meta: Metadata) -> list[Member]:
    found = []
    for broker in meta.known_brokers:
        host = meta.brokers.get(broker)
        found.append(
            Member(
                name=broker_name(broker),
                role="controller" if broker == meta.controller else "broker",
                state="running" if host else "stopped",
                healthy=host is not None,
                host=host,
            )
        )
    return found


def topics(meta: Metadata, configs: dict[str, dict[str, str]]) -> list[Topic]:
    found = []
    for name in meta.topic_names:
        parts = meta.topic(name)
        if parts and parts[0].internal:
            continue  # __consumer_offsets and friends: counted in health, not listed
        found.append(
            Topic(
                name=name,
                partitions=len(parts),
                replication_factor=max((len(p.replicas) for p in parts), default=0),
                under_replicated=sum(p.under_replicated for p in parts),
                offline=sum(p.offline for p in parts),
                configs=configs.get(name, {}),
            )
        )
    return found


def facts(meta: Metadata, configs: dict[str, dict[str, str]]) -> dict[str, str | int | bool | None]:
    found: dict[str, str | int | bool | None] = {
        not_preferred_fact(None): len(meta.not_preferred())
    }
    for name in meta.topic_names:
        found[not_preferred_fact(name)] = len(meta.not_preferred(name))
    for broker in meta.known_brokers:
        found[replicas_fact(broker)] = len(meta.replicas_on(broker))
    for topic, entries in configs.items():
        for key, value in entries.items():
            found[config_fact(topic, key)] = value
    return found


async def read_service(
    admin: KafkaAdmin,
    name: str,
    *,
    groups: list[str],
    expected_brokers: int,
    max_lag: int | None,
    region: str,
) -> Service:
    meta = await read_metadata(admin)
    configs = await read_configs(admin, [t.name for t in topics(meta, {})])
    watched = [await read_group(admin, g) for g in groups]
    seen = facts(meta, configs)
    for _group, group_facts in watched:
        seen.update(group_facts)
    group_list = [g for g, _ in watched]
    return Service(
        name=name,
        kind="kafka",
        plan="kafka",
        region=region,
        health=health(meta, expected_brokers, group_list, max_lag),
        members=members(meta),
        controller=broker_name(meta.controller) if meta.controller is not None else None,
        topics=topics(meta, configs),
        consumer_groups=group_list,
        facts=seen,
    )
