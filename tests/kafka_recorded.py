"""A three-broker Kafka cluster at the `kafka` backend's client seam (`AdminSeam`), from the
answers in `tests/fixtures/kafka/three_brokers.json`: for the repairs the Tansu test broker
does not implement (preferred leader election, partition reassignment).

It answers as kafka-python's admin client does and records every call that would change
the cluster. Its metadata moves as a real cluster's would: after an election the preferred
replicas lead; after a reassignment `ListPartitionReassignments` shows the moves in flight
for `polls_in_flight` polls, then the new replica sets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import kafka.errors as kerrors
from kafka.protocol.admin import ElectLeadersResponse
from kafka.protocol.api_key import ApiKey
from kafka.structs import TopicPartition

FIXTURE = Path(__file__).parent / "fixtures" / "kafka" / "three_brokers.json"
SERVICE = "kafka-payments"


def answers() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return loaded


class RecordedCluster:
    def __init__(
        self,
        *,
        election: str = "elected",
        reassignment_error: type[kerrors.KafkaError] | None = None,
        polls_in_flight: int = 2,
    ) -> None:
        self.answers = answers()
        self.metadata = self.answers["metadata"]["before"]
        self.election = election
        self.reassignment_error = reassignment_error
        self.polls_in_flight = polls_in_flight
        self.calls: list[tuple[str, Any]] = []
        self._moving = False

    # -- reads -------------------------------------------------------------------------

    def api_versions(self) -> dict[Any, tuple[int, int]]:
        return {ApiKey(k): (low, high) for k, low, high in self.answers["api_versions"]}

    def describe_cluster(self) -> dict[str, Any]:
        cluster: dict[str, Any] = self.answers["describe_cluster"]
        return cluster

    def describe_topics(self, topics: list[str] | None = None) -> list[dict[str, Any]]:
        return [t for t in self.metadata if topics is None or t["name"] in topics]

    def describe_configs(self, config_resources: list[Any], **_: Any) -> dict[str, Any]:
        return {"topic": {r.name: {} for r in config_resources}}

    def describe_groups(self, group_ids: list[str]) -> dict[str, Any]:
        return {g: {"group_state": "Empty", "members": [], "error": None} for g in group_ids}

    def list_group_offsets(self, group_specs: Any) -> dict[str, Any]:
        return {g: {} for g in group_specs}

    def list_partition_offsets(self, specs: Mapping[Any, Any]) -> dict[Any, Any]:
        return {}

    def list_partition_reassignments(self, topic_partitions: Any = None) -> dict[Any, Any]:
        self.calls.append(("ListPartitionReassignments", None))
        if not self._moving:
            return {}
        if self.polls_in_flight > 0:
            self.polls_in_flight -= 1
            return {
                TopicPartition(m["topic"], m["partition"]): {
                    k: m[k] for k in ("replicas", "adding_replicas", "removing_replicas")
                }
                for m in self.answers["list_partition_reassignments"]["moving"]
            }
        self.metadata = self.answers["metadata"]["drained"]
        return {}

    # -- changes -----------------------------------------------------------------------

    def alter_configs(self, config_resources: list[Any], **kwargs: Any) -> dict[str, Any]:
        verdicts: dict[str, Any] = {}
        for r in config_resources:
            self.calls.append(
                ("IncrementalAlterConfigs", (r.resource_type.name, r.name, r.configs))
            )
            verdicts.setdefault(r.resource_type.name.lower(), {})[r.name] = "OK"
        return verdicts

    def alter_group_offsets(self, group_id: str, offsets: Mapping[Any, Any]) -> dict[Any, Any]:
        raise AssertionError("not used at this seam")

    def elect_leaders(
        self, election_type: int, topic_partitions: Any = None, raise_errors: bool = True
    ) -> Any:
        self.calls.append(("ElectLeaders", (election_type, topic_partitions)))
        recorded = self.answers["elect_leaders"][self.election]
        response = ElectLeadersResponse.decode(
            bytes.fromhex(recorded["hex"]), version=recorded["version"]
        )
        if response.error_code == 0:
            self.metadata = self.answers["metadata"]["elected"]
        return response

    def alter_partition_reassignments(self, reassignments: Mapping[Any, Any]) -> dict[Any, Any]:
        self.calls.append(("AlterPartitionReassignments", dict(reassignments)))
        if self.reassignment_error is not None:
            raise self.reassignment_error()
        self._moving = True
        return {tp: None for tp in reassignments}

    def close(self) -> None:
        pass
