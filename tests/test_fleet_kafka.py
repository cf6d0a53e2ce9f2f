"""The `kafka` backend against a real Kafka-protocol broker (Tansu, on loopback), through
signed Slack requests: `/fleet status` shows the broker, the topics and the lag of a group
that really produced and consumed; a retention change needs a second person's approval
and is read back from the broker, and when another tool changes it again the failed
post-check offers the old value back; a consumer group's offsets are reset on the broker, and
refused while the group has a member; the repairs Tansu does not implement (leader
election, reassignment) are refused in the preview with the broker's error code."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from typing import Any

from bot.parts import AppParts
from integrations.fleet.models import Operation
from tests.actions_support import (
    PERMISSIONS,
    ROLES,
    audit_rows,
    card,
    finished_requests,
    in_thread,
    text_of,
)
from tests.harness import USERS, BotHarness, find_button
from tests.tansu_broker import TansuBroker, tansu_fixture, unique  # noqa: F401

WITHIN = 30.0
KAFKA_ACTIONS = ["topic-config", "offset-reset", "elect-leaders", "drain-broker", "cancel"]


def kafka_harness(
    db_url: str,
    tansu: TansuBroker,
    service: str,
    groups: list[str],
    customize: Callable[[AppParts], None] | None = None,
) -> BotHarness:
    # No rule names an approval: the high-risk repairs take `policies.approval` (a second
    # responder), as app.yaml ships them.
    return BotHarness(
        db_url,
        roles=ROLES,
        policies={
            "rules": [{"actions": KAFKA_ACTIONS, "roles": ["responder"]}],
            "tracking_interval_seconds": 0.2,
        },
        permissions=PERMISSIONS,
        fleet={"backends": [tansu.backend_config(service, groups)]},
        customize=customize,
    )


def answered(h: BotHarness, user: str) -> int:
    return len([r for r in h.state.responses() if r.user == USERS[user]])


async def ask(h: BotHarness, user: str, line: str) -> Any:
    seen = answered(h, user)
    await h.command(user, line)

    def probe() -> Any:
        posts = [r for r in h.state.responses() if r.user == USERS[user]]
        return posts[seen] if len(posts) > seen else None

    return await h.wait_for(probe, within=WITHIN)


async def confirm(h: BotHarness, preview: Any) -> None:
    seen = answered(h, "alice")
    await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
    await h.wait_for(lambda: answered(h, "alice") > seen or None, within=WITHIN)


async def approve(h: BotHarness, contains: str) -> Any:
    """The approval card: alice may not approve her own request, bob does."""
    approval = copy.deepcopy(await card(h, "Approval needed", within=WITHIN))
    assert contains in text_of(approval)
    await h.click("alice", find_button(approval.blocks, "Approve"), message_ts=approval.ts)
    await h.wait_for(
        lambda: [r for r in h.state.responses() if "your own request" in r.text], within=WITHIN
    )
    await h.click("bob", find_button(approval.blocks, "Approve"), message_ts=approval.ts)
    return approval


async def test_status_shows_brokers_topics_and_the_lag_of_a_real_group(
    db_url: str, tansu: TansuBroker
) -> None:
    service, topic, group = unique("kafka-events"), unique("orders"), unique("billing")
    await asyncio.to_thread(tansu.create_topic, topic, 3)
    await asyncio.to_thread(tansu.produce, topic, 4, 3)  # 12 records
    consumer = await asyncio.to_thread(tansu.consumer, group, topic)
    try:
        read = await asyncio.to_thread(tansu.consume, consumer, 5)
    finally:
        await asyncio.to_thread(consumer.close)
    assert read == 5
    async with kafka_harness(db_url, tansu, service, [group]) as h:
        status = await ask(h, "erin", f"/fleet status {service}")
        shown = text_of(status)
        assert f"{service} (kafka)" in shown and "healthy" in shown
        assert "`broker-" in shown and "controller" in shown  # the one Tansu broker
        assert f"`{topic}` 3 partitions × 1" in shown
        assert f"`{group}` Empty · 0 members · lag 7 messages (`{topic}` 7)" in shown
        overview = await ask(h, "erin", "/fleet status")
        assert "kafka" in text_of(overview)


async def test_retention_change_needs_approval_and_shows_on_the_broker(
    db_url: str, tansu: TansuBroker
) -> None:
    service, topic = unique("kafka-events"), unique("orders")
    await asyncio.to_thread(tansu.create_topic, topic, 1)
    async with kafka_harness(db_url, tansu, service, []) as h:
        # Outside input is checked before anything reaches the broker.
        bad = await ask(
            h,
            "alice",
            f"/fleet topic-config {service} topic={topic} config=retention.ms value=soon",
        )
        assert "retention.ms must be a whole number" in bad.text
        unknown = await ask(
            h, "alice", f"/fleet topic-config {service} topic={topic} config=ssl.key value=1"
        )
        assert "not a topic config Watchkeeper changes" in text_of(unknown)
        preview = await ask(
            h,
            "alice",
            f"/fleet topic-config {service} topic={topic} config=retention.ms value=3600000"
            " -- disk filling",
        )
        shown = text_of(preview)
        assert f"Preview: topic-config {service}" in shown
        assert "retention.ms" in shown and "3600000" in shown and "approval" in shown
        await confirm(h, preview)
        approval = await approve(h, "topic-config")
        assert await asyncio.to_thread(tansu.topic_config, topic, "retention.ms") != "3600000"
        result = await in_thread(h, approval, "post-check", within=WITHIN)
        assert "succeeded" in result.text and "post-check passed" in result.text
        assert f"`topic {topic} retention.ms` is `3600000`" in text_of(result)
        assert await asyncio.to_thread(tansu.topic_config, topic, "retention.ms") == "3600000"
        actions = [r.action for r in await audit_rows(h)]
        for step in ("approval.requested", "approval.decided", "operation.finished",
                     "operation.post_check"):  # fmt: skip
            assert step in actions


async def test_offset_reset_refused_while_consuming_then_done_on_the_broker(
    db_url: str, tansu: TansuBroker
) -> None:
    service, topic, group = unique("kafka-events"), unique("orders"), unique("billing")
    await asyncio.to_thread(tansu.create_topic, topic, 2)
    await asyncio.to_thread(tansu.produce, topic, 3, 2)
    consumer = await asyncio.to_thread(tansu.consumer, group, topic)
    line = f"/fleet offset-reset {service} group={group} topic={topic} to=earliest -- replay"
    async with kafka_harness(db_url, tansu, service, [group]) as h:
        try:
            assert await asyncio.to_thread(tansu.consume, consumer, 6) == 6
            busy = await ask(h, "alice", line)
            assert "1 active member(s)" in text_of(busy) and "stop its consumers" in text_of(busy)
        finally:
            await asyncio.to_thread(consumer.close)
        preview = await ask(h, "alice", line)
        shown = text_of(preview)
        assert "0:3 1:3" in shown and "0:0 1:0" in shown  # committed now, and after
        assert "reads 6 message(s)" in shown
        await confirm(h, preview)
        approval = await approve(h, "offset-reset")
        result = await in_thread(h, approval, "post-check", within=WITHIN)
        assert "succeeded" in result.text and "post-check passed" in result.text
        assert await asyncio.to_thread(tansu.committed, group) == {0: 0, 1: 0}
        status = await ask(h, "erin", f"/fleet status {service}")
        assert "lag 6 messages" in text_of(status)


async def test_repairs_tansu_lacks_are_refused_with_the_brokers_error_code(
    db_url: str, tansu: TansuBroker
) -> None:
    service, topic = unique("kafka-events"), unique("orders")
    await asyncio.to_thread(tansu.create_topic, topic, 1)
    async with kafka_harness(db_url, tansu, service, []) as h:
        elect = await ask(h, "alice", f"/fleet elect-leaders {service} topic={topic}")
        assert "ElectLeaders (API key 43)" in text_of(elect)
        assert "UNSUPPORTED_VERSION (35)" in text_of(elect)
        assert "Confirm" not in text_of(elect)
        drain = await ask(h, "alice", f"/fleet drain-broker {service} broker=111")
        assert "AlterPartitionReassignments (API key 45)" in text_of(drain)
        assert "Confirm" not in text_of(drain)


class ChangedAgainAfterwards:
    """The real backend, but once the operation has finished, another operator's tool sets
    the config to something else on the broker before the post-check reads it."""

    def __init__(self, real: Any, tansu: TansuBroker, topic: str) -> None:
        self._real, self._tansu, self._topic = real, tansu, topic
        self.armed = True

    async def get_operation(self, operation_id: str) -> Operation:
        op: Operation = await self._real.get_operation(operation_id)
        if op.finished and self.armed:
            self.armed = False
            await asyncio.to_thread(
                self._tansu.set_topic_config, self._topic, "retention.ms", "7200000"
            )
        return op

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


async def test_a_failed_post_check_offers_the_old_retention_back_through_the_guards(
    db_url: str, tansu: TansuBroker
) -> None:
    service, topic = unique("kafka-events"), unique("orders")
    await asyncio.to_thread(tansu.create_topic, topic, 1)
    await asyncio.to_thread(tansu.set_topic_config, topic, "retention.ms", "604800000")
    seam: list[ChangedAgainAfterwards] = []

    def wrap(parts: AppParts) -> None:
        assert parts.fleet is not None
        router = parts.fleet
        seam.append(ChangedAgainAfterwards(router.backend_for(service), tansu, topic))
        router._backends = [(n, p, seam[0]) for n, p, *_rest in router._backends]

    async with kafka_harness(db_url, tansu, service, [], customize=wrap) as h:
        line = f"/fleet topic-config {service} topic={topic} config=retention.ms value=3600000"
        await confirm(h, await ask(h, "alice", line))
        approval = await approve(h, "topic-config")
        result = await in_thread(h, approval, "post-check", within=WITHIN)
        assert "post-check failed" in result.text
        offered = text_of(result)
        assert f"topic-config {service} config=retention.ms topic={topic} value=604800000" in (
            offered
        )
        # bob starts the rollback: a request of his own, previewed and approved like any.
        seen = answered(h, "bob")
        await h.click("bob", find_button(result.blocks, "Start the rollback request"),
                      message_ts=result.ts)  # fmt: skip
        back = await h.wait_for(
            lambda: [r for r in h.state.responses() if r.user == USERS["bob"]][seen:] or None,
            within=WITHIN,
        )
        assert f"Preview: topic-config {service}" in text_of(back[0])
        await h.click("bob", find_button(back[0].blocks, "Confirm"), ephemeral=True)
        second = await h.wait_for(
            lambda: [
                m for m in h.state.messages("C0DEMO001")
                if "Approval needed" in m.text and m.ts != approval.ts
            ] or None,
            within=WITHIN,
        )  # fmt: skip
        await h.click("alice", find_button(second[0].blocks, "Approve"), message_ts=second[0].ts)
        made = await finished_requests(h, 2)
        assert made[1].requester_id == USERS["bob"] and made[1].state == "succeeded"
        assert await asyncio.to_thread(tansu.topic_config, topic, "retention.ms") == "604800000"
