"""The `kafka` backend's checks of outside input, its health rules and its settings,
without a broker: parameters (catalog and backend), config values, metadata that breaks
the protocol's shapes, and `app.yaml` settings."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bot.actions.catalog import CATALOG, InvalidRequest, validate_params
from integrations.fleet.errors import FleetProtocolError, FleetRequestRejected
from integrations.fleet.kafka import configs, plans
from integrations.fleet.kafka.backend import Settings
from integrations.fleet.kafka.snapshot import Metadata, Partition, health, parse_metadata
from integrations.fleet.models import Change, ConsumerGroup, Plan

GOOD = {"topic": "orders", "config": "retention.ms", "value": "3600000"}


@pytest.mark.parametrize(
    ("action", "params", "fault"),
    [
        ("topic-config", {**GOOD, "topic": "<@U0ALICE>"}, "not a Kafka topic name"),
        ("topic-config", {**GOOD, "topic": ".."}, "not a Kafka topic name"),
        ("topic-config", {**GOOD, "topic": "x" * 250}, "not a Kafka topic name"),
        ("topic-config", {**GOOD, "config": "Retention.MS"}, "not a config name"),
        ("topic-config", {**GOOD, "value": "1 day"}, "not a config value"),
        ("topic-config", {**GOOD, "value": "*bold*"}, "not a config value"),
        ("topic-config", {"topic": "orders", "config": "retention.ms"}, "needs value"),
        ("offset-reset", {"group": "g", "topic": "t", "to": "-1"}, "earliest, latest or an offset"),
        ("offset-reset", {"group": "g h", "topic": "t", "to": "latest"}, "not a Kafka group"),
        ("drain-broker", {"broker": "two"}, "not a positive whole number"),
        ("drain-broker", {"broker": "2", "throttle": "0"}, "not a positive whole number"),
        ("elect-leaders", {"partition": "1"}, "not `partition`"),
    ],
)
def test_the_catalog_refuses_malformed_kafka_parameters(
    action: str, params: dict[str, Any], fault: str
) -> None:
    with pytest.raises(InvalidRequest, match=fault):
        validate_params(CATALOG[action], params)


def test_the_catalog_types_broker_ids_and_rates() -> None:
    typed = validate_params(CATALOG["drain-broker"], {"broker": "0", "throttle": "1048576"})
    assert typed == {"broker": 0, "throttle": 1048576}


@pytest.mark.parametrize(
    ("action", "params", "fault"),
    [
        ("topic-config", {**GOOD, "value": "soon"}, "retention.ms must be a whole number"),
        ("topic-config", {**GOOD, "value": "-2"}, "retention.ms must be at least -1"),
        ("topic-config", {**GOOD, "config": "ssl.keystore.password"}, "not a topic config"),
        ("topic-config", {**GOOD, "config": "cleanup.policy", "value": "delete,delete"}, "cleanup"),
        ("offset-reset", {"group": "g", "topic": "t", "to": "first"}, "earliest, latest"),
        ("drain-broker", {"broker": True}, "non-empty string"),
        ("drain-broker", {"broker": "1", "throttle": "0"}, "above 0"),
        ("switchover", {}, "not something the kafka backend does"),
    ],
)
def test_the_backend_checks_its_parameters_itself(
    action: Any, params: dict[str, Any], fault: str
) -> None:
    with pytest.raises(FleetRequestRejected, match=fault):
        plans.validate_params(action, params)


@pytest.mark.parametrize(
    ("key", "value", "ok"),
    [
        ("retention.ms", "-1", True),
        ("retention.ms", str(2**63), False),
        ("segment.bytes", "13", False),
        ("min.insync.replicas", "0", False),
        ("cleanup.policy", "compact,delete", True),
        ("compression.type", "brotli", False),
        ("unclean.leader.election.enable", "yes", False),
        ("message.timestamp.type", "LogAppendTime", True),
    ],
)
def test_config_values_meet_their_keys_rule(key: str, value: str, ok: bool) -> None:
    assert (configs.problem(key, value) is None) is ok


def _meta(brokers: int, *partitions: Partition) -> Metadata:
    return Metadata(1, {b: f"h{b}:9092" for b in range(1, brokers + 1)}, list(partitions))


def test_health_follows_brokers_partitions_and_lag() -> None:
    ok = Partition("t", 0, 1, (1, 2, 3), (1, 2, 3))
    short = Partition("t", 1, 1, (1, 2, 3), (1, 2))
    offline = Partition("t", 2, -1, (1, 2, 3), ())
    assert health(_meta(3, ok), 3, [], None) == "healthy"
    assert health(_meta(2, ok), 3, [], None) == "degraded"  # one broker short
    assert health(_meta(1, ok), 3, [], None) == "down"  # two short (the contract's rule)
    assert health(_meta(3, ok, short), 3, [], None) == "degraded"
    assert health(_meta(3, ok, offline), 3, [], None) == "down"
    assert health(_meta(0), 1, [], None) == "down"
    behind = ConsumerGroup(name="g", state="Stable", members=1, lag=500)
    assert health(_meta(3, ok), 3, [behind], 100) == "degraded"
    assert health(_meta(3, ok), 3, [behind], None) == "healthy"


def test_metadata_that_breaks_the_protocol_shapes_is_a_protocol_error() -> None:
    cluster = {"controller_id": 1, "brokers": [{"broker_id": "one", "host": "h", "port": 1}]}
    with pytest.raises(FleetProtocolError):
        parse_metadata(cluster, [])
    good = {"controller_id": 1, "brokers": [{"broker_id": 1, "host": "h", "port": 1}]}
    with pytest.raises(FleetProtocolError):
        parse_metadata(good, [{"name": "t", "partitions": [{"partition_index": 0}]}])


def _settings(**extra: Any) -> Settings:
    return Settings.model_validate(
        {"clusters": {"kafka-a": {"bootstrap_servers": ["k1:9092"]}}, **extra}
    )


@pytest.mark.parametrize(
    "extra",
    [
        {"sasl_mechanism": "PLAIN"},  # SASL without a SASL protocol
        {"security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN", "sasl_username": "wk"},
        {"sasl_username": "wk", "sasl_password": "x"},
        {"security_protocol": "SASL_SSL", "sasl_mechanism": "GSSAPI"},
        {"clusters": {"kafka-a": {"bootstrap_servers": ["k1"]}}},  # no port
        {"clusters": {"kafka-a": {"bootstrap_servers": ["k1:9092"], "consumer_groups": ["a b"]}}},
        {"bogus": 1},
    ],
)
def test_settings_refuse_what_cannot_work(extra: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _settings(**extra)


def test_settings_default_to_their_clusters_as_services() -> None:
    settings = _settings(
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="watchkeeper",
        sasl_password="from-the-environment",
    )
    assert settings.default_services() == ["kafka-a"]
    config = settings.connection(settings.clusters["kafka-a"]).client_config()
    assert config["sasl_plain_password"] == "from-the-environment"
    assert "from-the-environment" not in repr(settings)


def _config_plan(before: str | None) -> Plan:
    return Plan(
        action="topic-config",
        target="kafka-a",
        params=dict(GOOD),
        allowed=True,
        risk="high",
        changes=[Change(attribute="topic orders retention.ms", before=before, after="3600000")],
        estimated_seconds=1,
    )


def test_a_config_change_is_undone_by_setting_the_value_before() -> None:
    reverse = CATALOG["topic-config"].reverse
    assert reverse is not None
    assert reverse(_config_plan("604800000")) == (
        "topic-config",
        {"topic": "orders", "config": "retention.ms", "value": "604800000"},
    )
    # The broker's default is no value `topic-config` can set: nothing is offered.
    assert reverse(_config_plan(None)) is None
