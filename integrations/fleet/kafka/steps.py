"""The steps of a Kafka operation, for `integrations.fleet.stepped` to run: each drawn
from the plan's draft, each judged from what the cluster answers.

A call step sends one request and reads the broker's per-resource or per-partition error
codes: any error fails the step with the broker's words (`NOT_CONTROLLER (41)`). A wait
step reads the cluster until what the step promised is there. A step marked `always`
(taking a throttle off) runs even after a failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType
from kafka.structs import OffsetAndMetadata, TopicPartition

from integrations.fleet.kafka.admin import KafkaAdmin, error_name
from integrations.fleet.kafka.plans import Draft, StepSpec
from integrations.fleet.kafka.snapshot import (
    committed_offsets,
    group_members,
    read_configs,
    read_metadata,
)
from integrations.fleet.stepped import Step, StepFailed

ELECTION_NOT_NEEDED = 84


def _codes(answer: dict[Any, Any]) -> list[str]:
    """`NAME (code)` of every error class in a {TopicPartition: error class or None} answer."""
    found = []
    for tp, err in answer.items():
        code = getattr(err, "errno", 0) if err is not None else 0
        if code:
            found.append(f"{tp.topic}-{tp.partition}: {error_name(code)}")
    return found


def _config_verdicts(answer: dict[str, Any]) -> list[str]:
    return [
        f"{kind} {name}: {verdict}"
        for kind, results in answer.items()
        for name, verdict in results.items()
        if verdict != "OK"
    ]


class Steps:
    """The calls and checks of one cluster, by the `Do` of a step."""

    def __init__(self, admin: KafkaAdmin) -> None:
        self._admin = admin
        self._calls: dict[str, Callable[[Draft], Awaitable[None]]] = {
            "alter_config": self._alter_config,
            "reset_offsets": self._reset_offsets,
            "elect": self._elect,
            "set_throttle": self._set_throttle,
            "reassign": self._reassign,
            "clear_throttle": self._clear_throttle,
        }
        self._waits: dict[str, Callable[[Draft], Awaitable[bool]]] = {
            "wait_config": self._config_holds,
            "wait_offsets": self._offsets_hold,
            "wait_preferred": self._preferred_lead,
            "wait_reassigned": self._reassigned,
        }

    def of(self, draft: Draft) -> list[Step]:
        return [self._step(spec, draft) for spec in draft.steps]

    def _step(self, spec: StepSpec, draft: Draft) -> Step:
        call = self._calls.get(spec.do)
        if call is not None:

            async def send() -> str | None:
                await call(draft)
                return None

            return Step(spec.name, send, always=spec.always)
        check = self._waits[spec.do]

        async def holds() -> str | None:
            return None if await check(draft) else "not seen on the cluster yet"

        return Step(spec.name, holds, wait=True, timeout=spec.timeout, always=spec.always)

    # -- calls -------------------------------------------------------------------------

    async def _alter(self, what: str, resources: list[ConfigResource]) -> None:
        answer = await self._admin.call(
            what,
            lambda c: c.alter_configs(resources, raise_on_unknown=False, incremental=True),
        )
        refused = _config_verdicts(answer)
        if refused:
            raise StepFailed("; ".join(refused))

    async def _alter_config(self, draft: Draft) -> None:
        assert draft.topic and draft.config
        key, value = draft.config
        resource = ConfigResource(ConfigResourceType.TOPIC, draft.topic, configs={key: value})
        await self._alter("IncrementalAlterConfigs", [resource])

    async def _reset_offsets(self, draft: Draft) -> None:
        assert draft.group
        group = draft.group
        # Checked again right before the commit: a consumer may have joined since the plan.
        state, active = await group_members(self._admin, group)
        if active:
            raise StepFailed(f"{group} has {active} active member(s) now ({state}); nothing sent")
        offsets = {tp: OffsetAndMetadata(o, "", None) for tp, o in draft.offsets.items()}
        answer = await self._admin.call(
            "OffsetCommit", lambda c: c.alter_group_offsets(group, offsets)
        )
        failed = _codes(answer)
        if failed:
            raise StepFailed("the broker refused: " + "; ".join(failed))

    async def _elect(self, draft: Draft) -> None:
        wanted: dict[str, list[int]] = {}
        for tp in draft.elect:
            wanted.setdefault(tp.topic, []).append(tp.partition)
        response = await self._admin.call(
            "ElectLeaders", lambda c: c.elect_leaders(0, wanted, raise_errors=False)
        )
        top = getattr(response, "error_code", 0)
        if top:
            raise StepFailed(f"the controller answered {error_name(top)}")
        failed = []
        for result in response.replica_election_results:
            for partition in result.partition_result:
                code = partition.error_code
                if code and code != ELECTION_NOT_NEEDED:
                    failed.append(f"{result.topic}-{partition.partition_id}: {error_name(code)}")
        if failed:
            raise StepFailed("the controller answered " + "; ".join(failed))

    def _throttle_resources(self, draft: Draft, *, clear: bool) -> list[ConfigResource]:
        def entries(values: dict[str, str]) -> dict[str, Any]:
            if clear:
                return {k: (AlterConfigOp.DELETE, None) for k in values}
            return dict(values)

        return [
            ConfigResource(ConfigResourceType.BROKER, b, configs=entries(v))
            for b, v in draft.throttle_brokers.items()
        ] + [
            ConfigResource(ConfigResourceType.TOPIC, t, configs=entries(v))
            for t, v in draft.throttle_topics.items()
        ]

    async def _set_throttle(self, draft: Draft) -> None:
        await self._alter("IncrementalAlterConfigs", self._throttle_resources(draft, clear=False))

    async def _clear_throttle(self, draft: Draft) -> None:
        await self._alter("IncrementalAlterConfigs", self._throttle_resources(draft, clear=True))

    async def _reassign(self, draft: Draft) -> None:
        moves = dict(draft.moves)
        answer = await self._admin.call(
            "AlterPartitionReassignments", lambda c: c.alter_partition_reassignments(moves)
        )
        failed = _codes(answer)
        if failed:
            raise StepFailed("the controller refused: " + "; ".join(failed))

    # -- waits -------------------------------------------------------------------------

    async def _config_holds(self, draft: Draft) -> bool:
        assert draft.topic and draft.config
        key, value = draft.config
        seen = (await read_configs(self._admin, [draft.topic])).get(draft.topic, {}).get(key)
        return seen == value

    async def _offsets_hold(self, draft: Draft) -> bool:
        assert draft.group
        seen = await committed_offsets(self._admin, draft.group)
        return all(seen.get(tp) == o for tp, o in draft.offsets.items())

    async def _preferred_lead(self, draft: Draft) -> bool:
        meta = await read_metadata(self._admin)
        led = {p.tp: p.on_preferred for p in meta.partitions}
        return all(led.get(tp, False) for tp in draft.elect)

    async def _reassigned(self, draft: Draft) -> bool:
        # A resumed drain knows no moves (`plans.resumed_draft`): then every reassignment
        # in flight counts, and the broker holding no replica decides.
        moving: list[TopicPartition] | None = list(draft.moves) or None
        pending = await self._admin.call(
            "ListPartitionReassignments", lambda c: c.list_partition_reassignments(moving)
        )
        if any(v.get("adding_replicas") or v.get("removing_replicas") for v in pending.values()):
            return False
        meta = await read_metadata(self._admin)
        if draft.broker is not None and meta.replicas_on(draft.broker):
            return False
        now = {p.tp: list(p.replicas) for p in meta.partitions}
        return all(sorted(now.get(tp, [])) == sorted(new) for tp, new in draft.moves.items())
