"""PatroniFleet: against a real two-node Patroni cluster with etcd on loopback (status,
plans, switchover, pause, restart, the post-check), and its error mapping and
idempotency through httpx.MockTransport."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from bot.config import ConfigError, parse_config
from bot.fleet import Fleet
from bot.fleet.backends import open_fleet
from bot.fleet.config import FleetConfig
from integrations.fleet.errors import (
    FleetError,
    FleetRequestRejected,
    FleetTimeout,
    FleetUnavailable,
    OperationNotFound,
    ServiceNotFound,
)
from integrations.fleet.patroni import PatroniFleet
from integrations.fleet.selector import parse_selector
from tests.actions_support import finished
from tests.conftest import base_config
from tests.patroni_cluster import PatroniCluster, patroni_cluster_fixture  # noqa: F401

ACTOR = "UALICE01"


# -- against the real cluster ---------------------------------------------------------


@pytest.fixture
async def fleet(patroni_cluster: PatroniCluster) -> AsyncIterator[PatroniFleet]:
    patroni_cluster.wait_until_healthy()
    async with PatroniFleet(
        {patroni_cluster.name: patroni_cluster.urls},
        username=patroni_cluster.username,
        password=patroni_cluster.password,
        poll_interval=0.2,
    ) as backend:
        yield backend


async def test_status_shows_the_leader_and_a_replica_with_its_lag(
    fleet: PatroniFleet, patroni_cluster: PatroniCluster
) -> None:
    port: Fleet = fleet  # it is a backend the core can route to
    service = await port.get_service(patroni_cluster.name)
    assert (service.kind, service.health, service.paused) == ("postgres", "healthy", False)
    assert service.primary is not None
    assert service.primary.name == patroni_cluster.leader()
    (replica,) = [m for m in service.members if m.role == "replica"]
    assert replica.state == "running" and replica.healthy
    assert replica.lag_bytes is not None and replica.lag_bytes >= 0
    assert replica.host and replica.host.startswith("127.0.0.1:")

    (summary,) = await fleet.list_services()
    assert (summary.name, summary.kind, summary.health) == (
        patroni_cluster.name,
        "postgres",
        "healthy",
    )
    # The selector is answered here, from the configured clusters (docs/fleet-api.yaml).
    found = await fleet.find_services(parse_selector("engine=postgres health=healthy"))
    assert [s.name for s in found.items] == [patroni_cluster.name]
    assert not (await fleet.find_services(parse_selector("health=down"))).items
    with pytest.raises(ServiceNotFound):
        await fleet.get_service("pg-unknown")


async def test_switchover_runs_once_and_changes_the_leader(
    fleet: PatroniFleet, patroni_cluster: PatroniCluster
) -> None:
    name = patroni_cluster.name
    old = patroni_cluster.leader()
    (candidate,) = patroni_cluster.replicas()

    plan = await fleet.plan(name, "switchover", {}, ACTOR)
    assert plan.allowed and plan.risk == "medium", plan.reason
    assert any(candidate in step for step in plan.steps)
    promoted = [c for c in plan.changes if c.attribute == "role" and c.after == "primary"]
    assert [c.member for c in promoted] == [candidate]
    assert not any("paused" in w for w in plan.warnings)

    started = time.monotonic()
    op = await fleet.start_operation(name, "switchover", {}, ACTOR, "key-switchover-1")
    assert op.state in ("pending", "running") and op.actor == ACTOR
    # A Slack retry of the same request: the same operation, no second switchover.
    again = await fleet.start_operation(name, "switchover", {}, ACTOR, "key-switchover-1")
    assert again.id == op.id
    with pytest.raises(FleetRequestRejected) as reused:
        await fleet.start_operation(
            name, "switchover", {"candidate": old or "?"}, ACTOR, "key-switchover-1"
        )
    assert (reused.value.status, reused.value.code) == (409, "idempotency_key_reused")
    with pytest.raises(FleetRequestRejected) as busy:
        await fleet.start_operation(name, "restart", {}, ACTOR, "key-restart-while-busy")
    assert busy.value.code == "operation_in_progress"

    done = await finished(fleet, op)
    elapsed = time.monotonic() - started
    assert done.state == "succeeded", done.error
    assert [s.state for s in done.steps] == ["succeeded"] * 3
    assert patroni_cluster.leader() == candidate
    print(f"switchover {old} -> {candidate}: {elapsed:.1f} s")

    replayed = await fleet.start_operation(name, "switchover", {}, ACTOR, "key-switchover-1")
    assert (replayed.id, replayed.state) == (op.id, "succeeded")
    assert [o.id for o in await fleet.list_operations(service=name)] == [op.id]
    with pytest.raises(OperationNotFound):
        await fleet.get_operation("patroni-nope")

    healthy, seen = await fleet.health_check(name)
    assert healthy, seen
    assert f"leader {candidate}" in seen


async def test_pause_makes_a_switchover_plan_warn_then_resume(
    fleet: PatroniFleet, patroni_cluster: PatroniCluster
) -> None:
    name = patroni_cluster.name
    paused = await finished(fleet, await fleet.start_operation(name, "pause", {}, ACTOR, "k-pause"))
    try:
        assert paused.state == "succeeded", paused.error
        assert (await fleet.get_service(name)).paused
        assert not (await fleet.plan(name, "pause", {}, ACTOR)).allowed

        plan = await fleet.plan(name, "switchover", {}, ACTOR)
        assert plan.allowed, plan.reason
        assert any("paused" in w for w in plan.warnings), plan.warnings
    finally:
        resumed = await finished(
            fleet, await fleet.start_operation(name, "resume", {}, ACTOR, "k-resume")
        )
    assert resumed.state == "succeeded", resumed.error
    assert not (await fleet.get_service(name)).paused
    assert not (await fleet.plan(name, "resume", {}, ACTOR)).allowed


async def test_restart_of_the_replica_then_the_post_check_passes(
    fleet: PatroniFleet, patroni_cluster: PatroniCluster
) -> None:
    name = patroni_cluster.name
    (replica,) = patroni_cluster.replicas()
    plan = await fleet.plan(name, "restart", {"member": replica}, ACTOR)
    assert plan.allowed and plan.risk == "low"
    assert plan.steps == [f"restart {replica}", f"wait for {replica} to rejoin"]

    op = await fleet.start_operation(name, "restart", {"member": replica}, ACTOR, "k-restart")
    done = await finished(fleet, op)
    assert done.state == "succeeded", done.error
    healthy, seen = await fleet.health_check(name)
    assert healthy, seen


async def test_reinit_rebuilds_the_replica_and_failover_moves_the_leader(
    fleet: PatroniFleet, patroni_cluster: PatroniCluster
) -> None:
    name = patroni_cluster.name
    (replica,) = patroni_cluster.replicas()
    op = await fleet.start_operation(name, "reinit", {"member": replica}, ACTOR, "k-reinit-1")
    done = await finished(fleet, op)
    assert done.state == "succeeded", done.error
    patroni_cluster.wait_until_healthy()

    old = patroni_cluster.leader()
    plan = await fleet.plan(name, "failover", {}, ACTOR)
    assert plan.allowed and plan.risk == "high"
    assert any("switchover is safer" in w for w in plan.warnings), "the leader is healthy"
    op = await fleet.start_operation(name, "failover", {}, ACTOR, "k-failover-1")
    done = await finished(fleet, op)
    assert done.state == "succeeded", done.error
    assert patroni_cluster.leader() == replica != old


async def test_plans_refuse_what_patroni_would_refuse(
    fleet: PatroniFleet, patroni_cluster: PatroniCluster
) -> None:
    name = patroni_cluster.name
    leader = patroni_cluster.leader() or "?"
    reinit = await fleet.plan(name, "reinit", {"member": leader}, ACTOR)
    assert not reinit.allowed and "leader" in (reinit.reason or "")
    to_itself = await fleet.plan(name, "switchover", {"candidate": leader}, ACTOR)
    assert not to_itself.allowed and to_itself.steps == []

    with pytest.raises(FleetRequestRejected) as unknown:
        await fleet.plan(name, "restart", {"member": "pg9"}, ACTOR)
    assert (unknown.value.status, unknown.value.code) == (422, "invalid_params")
    with pytest.raises(FleetRequestRejected) as unsupported:
        await fleet.plan(name, "rotate-credentials", {}, ACTOR)
    assert unsupported.value.code == "action_not_supported"
    with pytest.raises(FleetRequestRejected) as refused:
        await fleet.start_operation(name, "reinit", {"member": leader}, ACTOR, "k-reinit")
    assert refused.value.code == "operation_refused"


async def test_a_wrong_password_fails_the_operation_and_stays_secret(
    patroni_cluster: PatroniCluster,
) -> None:
    wrong = "wrong-password-Zq81"
    async with PatroniFleet(
        {patroni_cluster.name: patroni_cluster.urls},
        username=patroni_cluster.username,
        password=wrong,
        poll_interval=0.2,
    ) as fleet:
        op = await fleet.start_operation(patroni_cluster.name, "pause", {}, ACTOR, "k-wrong")
        done = await finished(fleet, op, within=15)
    assert done.state == "failed"
    assert "refused the credentials" in (done.error or "")
    assert wrong not in (done.error or "") and patroni_cluster.password not in (done.error or "")
    assert "pause" not in patroni_cluster.cluster()


async def test_app_yaml_opens_a_patroni_backend(patroni_cluster: PatroniCluster) -> None:
    raw = {"backends": [patroni_cluster.backend_config()]}
    # A literal password is refused; the ${VAR} reference is filled from the environment.
    with pytest.raises(ConfigError, match=r"fleet.backends\[0\].password: must come from"):
        parse_config(base_config(fleet={"backends": [{**raw["backends"][0], "password": "x"}]}), {})
    config = parse_config(base_config(fleet=raw), patroni_cluster.env).fleet
    (backend,) = config.backends
    assert backend.services == [patroni_cluster.name]  # not "*": it serves its clusters
    opened = await open_fleet(config)
    try:
        service = await opened.router.get_service(patroni_cluster.name)
        assert service.kind == "postgres"
    finally:
        await opened.aclose()


# -- error mapping and bookkeeping through MockTransport ------------------------------

PASSWORD = "s3cret-PATRONI-77"
URLS = ["http://10.0.0.1:8008", "http://10.0.0.2:8008"]


def cluster_json(*, pause: bool = False, leader: str = "n1", lag: Any = 0) -> dict[str, Any]:
    other = "n2" if leader == "n1" else "n1"
    members = [
        {"name": leader, "role": "leader", "state": "running", "api_url": _api(leader)},
        {
            "name": other,
            "role": "replica",
            "state": "streaming",
            "api_url": _api(other),
            "lag": lag,
        },
    ]
    return {
        "members": sorted(members, key=lambda m: m["name"]),
        **({"pause": True} if pause else {}),
    }


def _api(member: str) -> str:
    return URLS[0 if member == "n1" else 1] + "/patroni"


def mock_fleet(handler: Callable[[httpx.Request], httpx.Response]) -> PatroniFleet:
    return PatroniFleet(
        {"pg-ha": URLS},
        username="watchkeeper",
        password=PASSWORD,
        transport=httpx.MockTransport(handler),
        poll_interval=0.01,
    )


async def test_a_401_is_a_rejection_without_the_password() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"].startswith("Basic ")
        return httpx.Response(401, text=f"not authenticated {PASSWORD}")

    async with mock_fleet(handler) as fleet:
        with pytest.raises(FleetRequestRejected) as caught:
            await fleet.get_service("pg-ha")
    assert (caught.value.status, caught.value.code) == (401, "unauthorized")
    assert PASSWORD not in str(caught.value) and "[redacted]" in str(caught.value)


async def test_every_member_unreachable_is_unavailable() -> None:
    tried: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        tried.append(str(request.url))
        raise httpx.ConnectError("connection refused", request=request)

    async with mock_fleet(handler) as fleet:
        with pytest.raises(FleetUnavailable) as caught:
            await fleet.get_service("pg-ha")
        # No cluster of the backend answers: the backend is unreachable (unknown in the
        # overview), not a backend whose clusters are all down.
        with pytest.raises(FleetUnavailable):
            await fleet.list_services()
        healthy, seen = await fleet.health_check("pg-ha")
    assert tried[:2] == [f"{u}/cluster" for u in URLS], "every member, in turn"
    assert all(u in str(caught.value) for u in URLS) and PASSWORD not in str(caught.value)
    assert not healthy and "no member of cluster pg-ha answered" in seen


async def test_one_member_down_is_not_an_outage_and_timeouts_are_timeouts() -> None:
    def one_down(request: httpx.Request) -> httpx.Response:
        if request.url.host == "10.0.0.1":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json=cluster_json(lag="unknown"))

    async with mock_fleet(one_down) as fleet:
        service = await fleet.get_service("pg-ha")
    assert service.health == "degraded", "the replica's lag is unknown"
    assert [m.healthy for m in service.members] == [True, False]

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async with mock_fleet(slow) as fleet:
        with pytest.raises(FleetTimeout):
            await fleet.get_service("pg-ha")


async def test_a_bad_answer_is_a_protocol_error() -> None:
    async with mock_fleet(lambda r: httpx.Response(200, text="<html>proxy</html>")) as fleet:
        with pytest.raises(FleetError) as caught:
            await fleet.get_service("pg-ha")
    assert "not JSON" in str(caught.value)


class FakePatroni:
    """Enough of Patroni's REST API for bookkeeping tests: it counts what it was asked."""

    def __init__(self) -> None:
        self.state = cluster_json()
        self.writes: list[tuple[str, str, Any]] = []
        # PostgreSQL start "times" per member host; a restart moves them on.
        self.starts = {"10.0.0.1": 1, "10.0.0.2": 1}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, host = request.url.path, request.url.host
        if request.method == "GET" and path == "/cluster":
            return httpx.Response(200, json=self.state)
        if request.method == "GET" and path == "/patroni":
            started = f"2025-01-01 00:00:0{self.starts[host]}+00:00"
            return httpx.Response(200, json={"state": "running", "postmaster_start_time": started})
        body: dict[str, Any] = json.loads(request.content) if request.content else {}
        self.writes.append((request.method, path, body or None))
        if request.method == "PATCH" and path == "/config":
            self.state = cluster_json(pause=bool(body["pause"]))
            return httpx.Response(200, json={"pause": body["pause"]})
        if path == "/switchover":
            self.state = cluster_json(leader=body["candidate"])
            return httpx.Response(200, text=f'Successfully switched over to "{body["candidate"]}"')
        return httpx.Response(404)


async def test_concurrent_copies_of_one_request_reach_patroni_once() -> None:
    patroni = FakePatroni()
    async with mock_fleet(patroni) as fleet:
        ops = await asyncio.gather(
            *(fleet.start_operation("pg-ha", "pause", {}, ACTOR, "k-same") for _ in range(20))
        )
        assert len({op.id for op in ops}) == 1
        done = await finished(fleet, ops[0], within=5)
        with pytest.raises(FleetRequestRejected) as late:
            await fleet.cancel_operation(done.id, ACTOR)
    assert done.state == "succeeded"
    assert patroni.writes == [("PATCH", "/config", {"pause": True})]
    assert late.value.code == "not_cancellable"


async def test_cancel_stops_a_rolling_restart_before_the_next_member() -> None:
    patroni = FakePatroni()
    gate, asked = asyncio.Event(), asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path != "/restart":
            return patroni(request)
        patroni.writes.append(("POST", f"{request.url.host}/restart", None))
        asked.set()
        await gate.wait()  # the restart under way when the cancel comes
        patroni.starts[request.url.host] += 1
        return httpx.Response(200, text="restarted successfully")

    async with PatroniFleet(
        {"pg-ha": URLS},
        transport=httpx.MockTransport(handler),
        poll_interval=0.01,
    ) as fleet:
        op = await fleet.start_operation("pg-ha", "restart", {}, ACTOR, "k-roll")
        await asyncio.wait_for(asked.wait(), 5)
        cancelled = await fleet.cancel_operation(op.id, "UBOB0002")
        assert (cancelled.state, cancelled.cancelled_by) == ("cancelled", "UBOB0002")
        again = await fleet.cancel_operation(op.id, "UBOB0002")
        assert again.state == "cancelled"
        gate.set()
        for _ in range(200):
            op = await fleet.get_operation(op.id)
            if not any(s.state == "running" for s in op.steps):
                break
            await asyncio.sleep(0.01)
    # Replicas first: n2 restarted and rejoined; the leader n1 was never asked.
    assert patroni.writes == [("POST", "10.0.0.2/restart", None)]
    assert [s.state for s in op.steps] == ["succeeded", "succeeded", "cancelled", "cancelled"]
    assert op.state == "cancelled"


async def test_switchover_names_leader_and_candidate_and_in_pause_still_works() -> None:
    patroni = FakePatroni()
    patroni.state = cluster_json(pause=True)
    async with mock_fleet(patroni) as fleet:
        plan = await fleet.plan("pg-ha", "switchover", {}, ACTOR)
        assert plan.allowed and any("paused" in w for w in plan.warnings)
        op = await fleet.start_operation("pg-ha", "switchover", {}, ACTOR, "k-sw")
        done = await finished(fleet, op, within=5)
    assert done.state == "succeeded", done.error
    # Patroni refuses a switchover without a candidate while paused; we always name it.
    assert patroni.writes == [("POST", "/switchover", {"leader": "n1", "candidate": "n2"})]


async def test_patroni_refusing_fails_the_operation_with_its_reason() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cluster":
            return httpx.Response(200, json=cluster_json())
        return httpx.Response(412, text="switchover is not possible: no good candidates")

    async with mock_fleet(handler) as fleet:
        op = await fleet.start_operation("pg-ha", "switchover", {}, ACTOR, "k-412")
        done = await finished(fleet, op, within=5)
    assert done.state == "failed"
    assert "412" in (done.error or "") and "no good candidates" in (done.error or "")


async def test_config_requires_clusters_for_patroni() -> None:
    with pytest.raises(ValueError, match=r"clusters\n  Field required"):
        FleetConfig.model_validate({"backends": [{"name": "ha", "type": "patroni"}]})
    with pytest.raises(ValueError, match=r"url\n  Field required"):
        FleetConfig.model_validate({"backends": [{"name": "api", "type": "http"}]})
    with pytest.raises(ValueError, match="not URLs"):
        FleetConfig.model_validate(
            {
                "backends": [
                    {"name": "ha", "type": "patroni", "clusters": {"pg": ["http://u:p@h:8008"]}}
                ]
            }
        )
