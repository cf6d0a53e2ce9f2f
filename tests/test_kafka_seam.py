"""Preferred leader election and draining a broker, which the Tansu test broker does not
implement, through signed Slack requests against a three-broker cluster at the client seam
(`tests/kafka_recorded.py`): a supported answer is tracked until the metadata shows it done,
with the throttle set and taken off again; an UNSUPPORTED_VERSION answer fails the
operation with that reason and nothing is faked; a drain that a new process of the bot
finds is watched again, never sent twice."""

from __future__ import annotations

import asyncio
from typing import Any

import kafka.errors as kerrors
import pytest
from kafka.admin import AlterConfigOp
from kafka.protocol.api_key import ApiKey
from kafka.structs import TopicPartition

from bot.fleet import FleetRouter
from bot.parts import AppParts
from integrations.fleet.errors import OperationNotFound
from integrations.fleet.kafka.admin import Connection, KafkaAdmin
from integrations.fleet.kafka.fleet import Cluster, KafkaFleet
from integrations.fleet.models import ParamValue
from tests.actions_support import PERMISSIONS, ROLES, card, in_thread, text_of
from tests.harness import USERS, BotHarness, find_button
from tests.kafka_recorded import SERVICE, RecordedCluster

WITHIN = 20.0


def seam_harness(db_url: str, recorded: RecordedCluster) -> BotHarness:
    def customize(parts: AppParts) -> None:
        parts.fleet = FleetRouter([("kafka", [SERVICE], _fleet(recorded))])

    return BotHarness(
        db_url,
        roles=ROLES,
        policies={
            "rules": [{"actions": ["elect-leaders", "drain-broker"], "roles": ["responder"]}],
            "tracking_interval_seconds": 0.1,
        },
        permissions=PERMISSIONS,
        customize=customize,
    )


async def ask(h: BotHarness, user: str, line: str) -> Any:
    seen = len([r for r in h.state.responses() if r.user == USERS[user]])
    await h.command(user, line)

    def probe() -> Any:
        posts = [r for r in h.state.responses() if r.user == USERS[user]]
        return posts[seen] if len(posts) > seen else None

    return await h.wait_for(probe, within=WITHIN)


async def run(h: BotHarness, line: str, contains: str) -> Any:
    """alice asks, confirms, and the result arrives in the card's thread."""
    preview = await ask(h, "alice", line)
    await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
    root = await card(h, contains, within=WITHIN)
    return preview, await in_thread(h, root, f"on `{SERVICE}`", within=WITHIN)


async def test_preferred_leader_election_is_tracked_until_the_preferred_replicas_lead(
    db_url: str,
) -> None:
    recorded = RecordedCluster()
    async with seam_harness(db_url, recorded) as h:
        status = await ask(h, "erin", f"/fleet status {SERVICE}")
        assert "Controller" in text_of(status) and "`broker-1`" in text_of(status)
        preview, result = await run(h, f"/fleet elect-leaders {SERVICE} topic=payments", "elect")
        shown = text_of(preview)
        assert "elect the preferred leader of 2 partition(s)" in shown
        assert "succeeded" in result.text and "post-check passed" in result.text
        assert "`partitions not led by their preferred replica of payments` is `0`" in text_of(
            result
        )
    assert ("ElectLeaders", (0, {"payments": [0, 2]})) in recorded.calls


async def test_an_unsupported_version_answer_fails_the_election_with_that_reason(
    db_url: str,
) -> None:
    recorded = RecordedCluster(election="unsupported")
    async with seam_harness(db_url, recorded) as h:
        _preview, result = await run(h, f"/fleet elect-leaders {SERVICE}", "elect")
        assert "failed" in result.text
        assert "UNSUPPORTED_VERSION (35)" in text_of(result)
    # Nothing pretends it happened: the leaders are where they were.
    assert recorded.metadata == recorded.answers["metadata"]["before"]


async def test_draining_a_broker_is_throttled_tracked_until_done_and_unthrottled(
    db_url: str,
) -> None:
    recorded = RecordedCluster(polls_in_flight=2)
    async with seam_harness(db_url, recorded) as h:
        line = f"/fleet drain-broker {SERVICE} broker=3 throttle=1048576 -- decommission"
        preview, result = await run(h, line, "drain-broker")
        shown = text_of(preview)
        assert "move 3 replica(s) off broker 3" in shown and "1 MiB/s" in shown
        assert "succeeded" in result.text and "post-check passed" in result.text
        assert "`replicas on broker 3` is `0`" in text_of(result)
    moves = next(args for name, args in recorded.calls if name == "AlterPartitionReassignments")
    assert moves == {
        TopicPartition("payments", 1): [2, 1],
        TopicPartition("payments", 2): [2, 1],
        TopicPartition("payments", 3): [1, 2],
    }
    configs = [args for name, args in recorded.calls if name == "IncrementalAlterConfigs"]
    rates = [c for c in configs if c[0] == "BROKER"]
    assert {c[1] for c in rates} == {"1", "2", "3"}
    set_rate = rates[0][2]["leader.replication.throttled.rate"]
    assert set_rate == "1048576"
    # The throttle came off after the move: the last config calls delete what was set.
    assert all(isinstance(v, tuple) for c in configs[-4:] for v in c[2].values())
    polls = [n for n, _ in recorded.calls if n == "ListPartitionReassignments"]
    assert len(polls) >= 3  # two answers in flight, then done


async def test_a_reassignment_the_controller_refuses_fails_and_the_throttle_comes_off(
    db_url: str,
) -> None:
    recorded = RecordedCluster(reassignment_error=kerrors.UnsupportedVersionError)
    async with seam_harness(db_url, recorded) as h:
        _preview, result = await run(h, f"/fleet drain-broker {SERVICE} broker=3", "drain-broker")
        assert "failed" in result.text and "UNSUPPORTED_VERSION (35)" in text_of(result)
    names = [n for n, _ in recorded.calls]
    assert names.count("IncrementalAlterConfigs") == 8  # 3 brokers + 1 topic, set and cleared
    assert recorded.metadata == recorded.answers["metadata"]["before"]


async def test_a_broker_that_does_not_offer_the_request_is_refused_in_the_preview(
    db_url: str,
) -> None:
    recorded = RecordedCluster()
    recorded.answers["api_versions"] = [
        v for v in recorded.answers["api_versions"] if v[0] != ApiKey.ElectLeaders
    ]
    async with seam_harness(db_url, recorded) as h:
        refused = await ask(h, "alice", f"/fleet elect-leaders {SERVICE}")
        assert "ElectLeaders (API key 43)" in text_of(refused)
        assert "Confirm" not in text_of(refused)
    assert all(name != "ElectLeaders" for name, _ in recorded.calls)


def _fleet(recorded: RecordedCluster) -> KafkaFleet:
    admin = KafkaAdmin(SERVICE, Connection(("kafka-1.example.com:9092",)), lambda _c: recorded)
    return KafkaFleet({SERVICE: Cluster(admin, expected_brokers=3)}, poll_interval=0.05)


async def test_a_drain_a_restarted_bot_finds_is_watched_again_and_never_sent_twice() -> None:
    recorded = RecordedCluster(polls_in_flight=4)
    params: dict[str, ParamValue] = {"broker": 3}
    first = _fleet(recorded)
    plan = await first.plan(SERVICE, "drain-broker", params, "UALICE01")
    op = await first.start_operation(SERVICE, "drain-broker", params, "UALICE01", "slack:t1")
    for _ in range(200):
        if any(name == "AlterPartitionReassignments" for name, _ in recorded.calls):
            break
        await asyncio.sleep(0.01)
    await first.aclose()  # the process dies, and its memory of the operation with it
    sent_before = len(recorded.calls)
    second = _fleet(recorded)
    with pytest.raises(OperationNotFound):
        await second.get_operation(op.id)
    resumed = await second.resume_operation(
        op.id, SERVICE, "drain-broker", params, "UALICE01", plan,
        idempotency_key="slack:t1", started_at=op.created_at,
    )  # fmt: skip
    assert resumed.id == op.id
    for _ in range(400):
        resumed = await second.get_operation(op.id)
        if resumed.finished:
            break
        await asyncio.sleep(0.01)
    await second.aclose()
    assert resumed.state == "succeeded", resumed.error
    names = [name for name, _ in recorded.calls]
    assert names.count("AlterPartitionReassignments") == 1
    # After the restart: only reads, then the throttle taken off every live broker.
    cleared = [
        args for name, args in recorded.calls[sent_before:] if name != "ListPartitionReassignments"
    ]
    assert {c[1] for c in cleared} == {"1", "2", "3"}
    assert all(v == (AlterConfigOp.DELETE, None) for c in cleared for v in c[2].values())
