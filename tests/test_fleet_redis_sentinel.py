"""SentinelFleet against a real Redis master, two replicas and three Sentinels on loopback,
connected as an ACL user limited to the commands docs/backends.md lists: status, plans,
a switchover that runs once and leaves every Sentinel naming the new master, a replica
re-pointed with REPLICAOF and one re-synced in place, and unreachable or refused
Sentinels reported as such, never as a healthy (or a down) master."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis

from bot.fleet import Fleet
from bot.fleet.backends import open_fleet
from bot.fleet.config import FleetConfig
from integrations.fleet.errors import (
    FleetRequestRejected,
    FleetUnavailable,
    ServiceNotFound,
)
from integrations.fleet.redis_sentinel import SentinelFleet
from tests.actions_support import finished
from tests.redis_sentinel_cluster import (  # noqa: F401
    SentinelCluster,
    sentinel_cluster_fixture,
    sentinel_tls_cluster_fixture,
)

ACTOR = "UALICE01"


async def open_sentinel_backend(config: dict[str, Any]) -> SentinelFleet:
    opened = await open_fleet(FleetConfig.model_validate({"backends": [config]}))
    backend = opened.backends[config["name"]]
    assert isinstance(backend, SentinelFleet)
    return backend


@pytest.fixture
async def fleet(sentinel_cluster: SentinelCluster) -> AsyncIterator[SentinelFleet]:
    backend = await open_sentinel_backend(sentinel_cluster.backend_config())
    async with backend:
        yield backend


def served(stats: dict[str, Any]) -> int:
    """Syncs a master has served, full and partial."""
    return int(stats["sync_full"]) + int(stats["sync_partial_ok"])


def _unused_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()  # nothing listens there afterwards


async def test_status_shows_master_replicas_lag_quorum_and_sentinels(
    fleet: SentinelFleet, sentinel_cluster: SentinelCluster
) -> None:
    cluster = sentinel_cluster
    port: Fleet = fleet  # a backend the core can route to
    service = await port.get_service(cluster.name)
    master = cluster.master_port()
    assert master is not None
    assert (service.kind, service.plan, service.health) == ("redis", "sentinel", "healthy")
    assert service.primary is not None and service.primary.name == cluster.member(master)
    replicas = [m for m in service.members if m.role == "replica"]
    assert sorted(m.name for m in replicas) == sorted(
        cluster.member(p) for p in cluster.data_ports if p != master
    )
    assert all(m.healthy and m.lag_bytes is not None and m.lag_bytes >= 0 for m in replicas)
    facts = {f.label: f.value for f in service.notes}
    assert "usable Sentinels" in facts["Quorum"] and facts["Quorum"].startswith("2 of 3")
    assert facts["Sentinels"].startswith("3 known") and "3 of 3 configured" in facts["Sentinels"]
    assert facts["Replica links"].count("link up") == 2

    (summary,) = await fleet.list_services()
    assert (summary.name, summary.kind, summary.health) == (cluster.name, "redis", "healthy")
    with pytest.raises(ServiceNotFound):
        await fleet.get_service("redis-unknown")


async def test_a_pattern_finds_the_masters_sentinel_monitors(
    sentinel_cluster: SentinelCluster,
) -> None:
    config = sentinel_cluster.backend_config(masters=[], master_pattern="redis-*")
    async with await open_sentinel_backend(config) as backend:
        assert [s.name for s in await backend.list_services()] == [sentinel_cluster.name]
        assert (await backend.get_service(sentinel_cluster.name)).health == "healthy"
    config = sentinel_cluster.backend_config(masters=[], master_pattern="cache-*")
    async with await open_sentinel_backend(config) as backend:
        assert await backend.list_services() == []
        with pytest.raises(ServiceNotFound):
            await backend.get_service(sentinel_cluster.name)


async def test_switchover_runs_once_and_every_sentinel_names_the_new_master(
    fleet: SentinelFleet, sentinel_cluster: SentinelCluster
) -> None:
    cluster = sentinel_cluster
    name, old = cluster.name, cluster.master_port()
    assert old is not None
    plan = await fleet.plan(name, "switchover", {}, ACTOR)
    assert plan.allowed and plan.risk == "medium", plan.reason
    assert "SENTINEL FAILOVER" in plan.steps[0]
    assert [(c.member, c.after) for c in plan.changes] == [(cluster.member(old), "replica")]

    op = await fleet.start_operation(name, "switchover", {}, ACTOR, "key-switchover-1")
    # A Slack retry of the same request: the same operation, no second failover.
    again = await fleet.start_operation(name, "switchover", {}, ACTOR, "key-switchover-1")
    assert again.id == op.id
    with pytest.raises(FleetRequestRejected) as busy:
        await fleet.start_operation(name, "failover", {}, ACTOR, "key-failover-while-busy")
    assert busy.value.code == "operation_in_progress"

    done = await finished(fleet, op, within=120)
    assert done.state == "succeeded", done.error
    assert [s.state for s in done.steps] == ["succeeded"] * 3
    # Every Sentinel names the new master, and it is one of the replicas.
    named = cluster.sentinel_masters()
    assert len(set(named)) == 1 and named[0] != old and named[0] in cluster.data_ports
    new = named[0]
    assert new is not None and cluster.replication(new)["role"] == "master"
    assert cluster.replication(old)["role"] == "slave"
    assert int(cluster.replication(old)["master_port"]) == new
    service = await fleet.get_service(name)
    assert service.health == "healthy" and service.primary is not None
    assert service.primary.name == cluster.member(new)
    assert [o.id for o in await fleet.list_operations(service=name)] == [op.id]


async def test_the_replica_with_the_lowest_priority_is_predicted_and_can_be_named(
    fleet: SentinelFleet, sentinel_cluster: SentinelCluster
) -> None:
    cluster = sentinel_cluster
    old = cluster.master_port()
    chosen = next(p for p in cluster.data_ports if p != old)
    cluster.set_priority(chosen, 10)
    try:
        # Sentinel reads a replica's INFO every 10 s; the plan predicts from what it read.
        cluster.wait_for(
            "Sentinel to see the priority",
            lambda: cluster.sentinel_priorities().get(chosen) == 10,
            30,
        )
        plan = await fleet.plan(
            cluster.name, "switchover", {"candidate": cluster.member(chosen)}, ACTOR
        )
        assert plan.allowed, plan.reason
        assert (cluster.member(chosen), "primary") in [(c.member, c.after) for c in plan.changes]
        op = await fleet.start_operation(
            cluster.name, "switchover", {"candidate": cluster.member(chosen)}, ACTOR, "key-named"
        )
        done = await finished(fleet, op, within=120)
        assert done.state == "succeeded", done.error
        assert cluster.sentinel_masters() == [chosen] * 3
    finally:
        cluster.set_priority(chosen, 100)
        cluster.wait_until_settled()


async def test_a_restarted_bot_watches_a_switchover_again_and_sends_nothing_twice(
    sentinel_cluster: SentinelCluster,
) -> None:
    cluster = sentinel_cluster
    old = cluster.master_port()
    epoch = int(cluster.sentinel_view(cluster.sentinel_ports[0], "config-epoch"))
    first = await open_sentinel_backend(cluster.backend_config())
    plan = await first.plan(cluster.name, "switchover", {}, ACTOR)
    op = await first.start_operation(cluster.name, "switchover", {}, ACTOR, "key-restart")
    deadline = time.monotonic() + 30
    while (await first.get_operation(op.id)).steps[0].state != "succeeded":
        assert time.monotonic() < deadline, "SENTINEL FAILOVER was not sent"
        await asyncio.sleep(0.05)
    await first.aclose()  # the process dies: its record of the operation with it

    async with await open_sentinel_backend(cluster.backend_config()) as second:
        resumed = await second.resume_operation(
            op.id, cluster.name, "switchover", {}, ACTOR, plan,
            idempotency_key="key-restart", started_at=op.created_at,
        )  # fmt: skip
        assert resumed.id == op.id and resumed.steps[0].state == "succeeded"
        done = await finished(second, resumed, within=120)
        assert done.state == "succeeded", done.error
        named = cluster.sentinel_masters()
        assert len(set(named)) == 1 and named[0] not in (None, old)
        # A retry under the same key is this operation, not a second failover.
        again = await second.start_operation(cluster.name, "switchover", {}, ACTOR, "key-restart")
        assert again.id == op.id
    # Exactly one failover: Sentinel's configuration epoch moved by one.
    assert int(cluster.sentinel_view(cluster.sentinel_ports[0], "config-epoch")) == epoch + 1


async def test_a_replica_pointed_elsewhere_is_re_pointed_with_replicaof(
    fleet: SentinelFleet, sentinel_cluster: SentinelCluster
) -> None:
    cluster = sentinel_cluster
    master = cluster.master_port()
    stray = next(p for p in cluster.data_ports if p != master)
    # An operator's mistake: the replica was detached (it now says it is a master).
    with redis.Redis(port=stray, protocol=2, decode_responses=True) as admin:
        admin.execute_command("REPLICAOF", "NO", "ONE")
    plan = await fleet.plan(cluster.name, "reinit", {"member": cluster.member(stray)}, ACTOR)
    assert plan.allowed, plan.reason
    assert "(REPLICAOF)" in plan.steps[0] and "itself (a master)" in " ".join(plan.warnings)
    op = await fleet.start_operation(
        cluster.name, "reinit", {"member": cluster.member(stray)}, ACTOR, "key-resync-1"
    )
    done = await finished(fleet, op, within=120)
    assert done.state == "succeeded", done.error
    info = cluster.replication(stray)
    assert (info["role"], int(info["master_port"]), info["master_link_status"]) == (
        "slave",
        master,
        "up",
    )
    cluster.wait_until_settled()


async def test_a_linked_replica_re_syncs_in_place(
    fleet: SentinelFleet, sentinel_cluster: SentinelCluster
) -> None:
    cluster = sentinel_cluster
    master = cluster.master_port()
    assert master is not None
    replica = next(p for p in cluster.data_ports if p != master)
    with redis.Redis(port=master, protocol=2, decode_responses=True) as admin:
        before = admin.info("stats")
    plan = await fleet.plan(cluster.name, "reinit", {"member": cluster.member(replica)}, ACTOR)
    assert plan.allowed and "CLIENT KILL TYPE master" in plan.steps[0], plan
    op = await fleet.start_operation(
        cluster.name, "reinit", {"member": cluster.member(replica)}, ACTOR, "key-resync-2"
    )
    done = await finished(fleet, op, within=120)
    assert done.state == "succeeded", done.error
    with redis.Redis(port=master, protocol=2, decode_responses=True) as admin:
        after = admin.info("stats")
    assert served(after) > served(before)  # the replica really synced again
    assert cluster.replication(replica)["master_link_status"] == "up"


async def test_refused_actions_say_why_and_send_nothing(
    fleet: SentinelFleet, sentinel_cluster: SentinelCluster
) -> None:
    name = sentinel_cluster.name
    master = sentinel_cluster.master_port()
    assert master is not None
    for action, params, said in [
        ("restart", {}, "no command that restarts"),
        ("pause", {}, "no switch that pauses"),
        ("reinit", {"member": sentinel_cluster.member(master)}, "is the master"),
    ]:
        plan = await fleet.plan(name, action, params, ACTOR)  # type: ignore[arg-type]
        assert not plan.allowed and said in (plan.reason or ""), plan.reason
        with pytest.raises(FleetRequestRejected) as refused:
            await fleet.start_operation(name, action, params, ACTOR, f"key-{action}")  # type: ignore[arg-type]
        assert refused.value.code == "operation_refused"
    assert await fleet.list_operations(service=name) == []
    assert sentinel_cluster.master_port() == master


async def test_no_sentinel_answering_is_unknown_not_healthy(
    sentinel_cluster: SentinelCluster,
) -> None:
    config = sentinel_cluster.backend_config(
        sentinels=[f"127.0.0.1:{p}" for p in _unused_ports(3)], timeout_seconds=0.5
    )
    async with await open_sentinel_backend(config) as backend:
        with pytest.raises(FleetUnavailable, match="state is unknown"):
            await backend.get_service(sentinel_cluster.name)
        with pytest.raises(FleetUnavailable):
            await backend.list_services()
        with pytest.raises(FleetUnavailable):
            await backend.plan(sentinel_cluster.name, "switchover", {}, ACTOR)


async def test_one_silent_sentinel_degrades_the_set(sentinel_cluster: SentinelCluster) -> None:
    (silent,) = _unused_ports(1)
    config = sentinel_cluster.backend_config(
        sentinels=[
            *(f"127.0.0.1:{p}" for p in sentinel_cluster.sentinel_ports),
            f"127.0.0.1:{silent}",
        ]
    )
    async with await open_sentinel_backend(config) as backend:
        service = await backend.get_service(sentinel_cluster.name)
        assert service.health == "degraded"
        facts = {f.label: f.value for f in service.notes}
        assert "3 of 4 configured" in facts["Sentinels"]


async def test_a_wrong_password_is_a_refusal_not_a_down_master(
    sentinel_cluster: SentinelCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WK_TEST_REDIS_WRONG", "not-the-password")
    config = sentinel_cluster.backend_config(password_env="WK_TEST_REDIS_WRONG")
    async with await open_sentinel_backend(config) as backend:
        with pytest.raises(FleetRequestRejected) as refused:
            await backend.get_service(sentinel_cluster.name)
        assert refused.value.status == 403


async def test_status_and_a_resync_over_tls_with_a_client_certificate(
    sentinel_tls_cluster: SentinelCluster,
) -> None:
    cluster = sentinel_tls_cluster  # every server: TLS only, client certificates required
    master = cluster.master_port()
    replica = next(p for p in cluster.data_ports if p != master)
    async with await open_sentinel_backend(cluster.backend_config()) as backend:
        service = await backend.get_service(cluster.name)
        assert service.health == "healthy" and len(service.members) == 3
        assert service.primary is not None and service.primary.name == cluster.member(master or 0)
        op = await backend.start_operation(
            cluster.name, "reinit", {"member": cluster.member(replica)}, ACTOR, "key-tls"
        )
        done = await finished(backend, op, within=120)
        assert done.state == "succeeded", done.error
    # The CA alone: the servers refuse a client without a certificate.
    (ca,) = cluster.tls_files("ca.pem")
    config = cluster.backend_config(tls={"ca_file": ca})
    async with await open_sentinel_backend(config) as backend:
        with pytest.raises(FleetUnavailable, match="state is unknown"):
            await backend.get_service(cluster.name)
