"""The fleet simulator: a deterministic fleet, operations on an injected clock, idempotency,
plans drawn from real state, fault injection, and answers that follow docs/fleet-api.yaml."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from integrations.fleet.models import Action, ParamValue, PlanRequest
from standins.fleet.simulator import FleetSimulation, ManualClock, create_app, seed_fleet

TOKEN = "sim-token-123"
SPEC = yaml.safe_load((Path(__file__).parent.parent / "docs" / "fleet-api.yaml").read_text())


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock) -> FleetSimulation:
    return FleetSimulation.seeded(7, 240, clock=clock)


@pytest.fixture
async def api(sim: FleetSimulation) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Actor": "U0ALICE"}
    transport = httpx.ASGITransport(app=create_app(sim, token=TOKEN))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sim", headers=headers
    ) as client:
        yield client


def _fleet_dump(seed: int, size: int = 240) -> list[dict[str, Any]]:
    sim = FleetSimulation.seeded(seed, size, clock=ManualClock())
    return [sim.service(n).model_dump() for n in sim.names()]


def _roles(sim: FleetSimulation, name: str) -> dict[str, str]:
    return {m.name: m.role for m in sim.service(name).members}


async def _start(
    api: httpx.AsyncClient, service: str, body: dict[str, Any], key: str
) -> httpx.Response:
    return await api.post(
        f"/v1/services/{service}/operations", json=body, headers={"Idempotency-Key": key}
    )


# -- the seeded fleet -----------------------------------------------------------------


def test_the_same_seed_gives_the_same_fleet_and_another_seed_another() -> None:
    assert _fleet_dump(7) == _fleet_dump(7)
    assert _fleet_dump(7) != _fleet_dump(8)


def test_the_fleet_has_the_three_kinds_with_their_shapes(sim: FleetSimulation) -> None:
    services = [sim.service(n) for n in sim.names()]
    assert len(services) == 240
    assert {s.kind for s in services} == {"postgres", "redis", "kafka"}
    assert len({s.region for s in services}) >= 3
    for s in services:
        roles = sorted(m.role for m in s.members)
        if s.kind == "postgres":
            assert roles in (["primary", "replica"], ["primary", "replica", "replica"])
            assert s.name.startswith("pg-")
        elif s.kind == "redis":
            assert roles == ["primary", "replica"]
        else:
            assert roles == ["broker"] * 3
    unwell = sum(1 for s in services if s.health != "healthy")
    assert 0 < unwell < len(services) // 10, "some trouble, as in any fleet, but not much"


@pytest.mark.parametrize(("seed", "size"), [(0, 240), (7, 240), (12345, 4), (99, 1)])
def test_well_known_services_always_exist_and_are_healthy(seed: int, size: int) -> None:
    by_name = {s.name: s for s in seed_fleet(seed, size)}
    for name in ("pg-orders", "pg-billing"):
        assert by_name[name].kind == "postgres"
        assert by_name[name].health == "healthy"
    assert by_name["redis-sessions"].kind == "redis"
    assert by_name["kafka-events"].kind == "kafka"


async def test_pages_cover_the_fleet_once_in_order(api: httpx.AsyncClient) -> None:
    names: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 70} | ({"cursor": cursor} if cursor else {})
        page = (await api.get("/v1/services", params=params)).json()
        assert len(page["items"]) <= 70
        names += [item["name"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert len(names) == 240 and names == sorted(set(names))
    bad = await api.get("/v1/services", params={"cursor": "%%%"})
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_cursor")


# -- operations on the injected clock -------------------------------------------------


async def test_switchover_swaps_the_primary_only_when_its_time_has_come(
    api: httpx.AsyncClient, sim: FleetSimulation, clock: ManualClock
) -> None:
    plan = (await api.post("/v1/services/pg-orders/plans", json={"action": "switchover"})).json()
    assert plan["allowed"] is True and plan["risk"] == "medium"
    new_primary = next(c["member"] for c in plan["changes"] if c["after"] == "primary")
    assert _roles(sim, "pg-orders")["pg-orders-1"] == "primary"

    started = await _start(api, "pg-orders", {"action": "switchover"}, "k-1")
    assert started.status_code == 202
    op = started.json()
    assert op["state"] == "pending" and op["actor"] == "U0ALICE"
    assert started.headers["Location"] == f"/v1/operations/{op['id']}"

    clock.advance(1.0)
    running = (await api.get(f"/v1/operations/{op['id']}")).json()
    assert running["state"] == "running"
    assert [s["state"] for s in running["steps"]][:2] == ["succeeded", "running"]
    assert _roles(sim, "pg-orders")["pg-orders-1"] == "primary", "not promoted yet"

    clock.advance(plan["estimated_seconds"])
    done = (await api.get(f"/v1/operations/{op['id']}")).json()
    assert done["state"] == "succeeded"
    assert all(s["progress"] == 1.0 for s in done["steps"])
    roles = _roles(sim, "pg-orders")
    assert roles[new_primary] == "primary" and roles["pg-orders-1"] == "replica"
    assert list(roles.values()).count("primary") == 1
    assert sim.service("pg-orders").health == "healthy"


async def test_a_restart_leaves_the_member_starting_for_a_moment(
    api: httpx.AsyncClient, sim: FleetSimulation, clock: ManualClock
) -> None:
    body = {"action": "restart", "params": {"member": "pg-billing-2"}}
    assert (await _start(api, "pg-billing", body, "r-1")).status_code == 202
    clock.advance(0.5)
    member = next(m for m in sim.service("pg-billing").members if m.name == "pg-billing-2")
    assert (member.state, member.healthy) == ("starting", False)
    assert sim.service("pg-billing").health == "degraded"
    clock.advance(2.0)
    member = next(m for m in sim.service("pg-billing").members if m.name == "pg-billing-2")
    assert (member.state, member.healthy) == ("running", True)


ALL_ACTIONS: list[tuple[str, Action, dict[str, ParamValue]]] = [
    ("pg-orders", "restart", {}),
    ("pg-orders", "restart", {"member": "pg-orders-1"}),
    ("pg-orders", "switchover", {"candidate": "pg-orders-3"}),
    ("pg-orders", "failover", {}),
    ("pg-orders", "replace", {"member": "pg-orders-2"}),
    ("pg-orders", "reinit", {"member": "pg-orders-3"}),
    ("pg-orders", "maintenance", {"mode": "run"}),
    ("pg-orders", "maintenance", {"mode": "schedule", "at": "2030-01-01T02:00:00+00:00"}),
    ("pg-orders", "pause", {}),
    ("pg-orders", "rotate-credentials", {}),
    ("redis-sessions", "switchover", {}),
    ("redis-sessions", "failover", {}),
    ("kafka-events", "restart", {}),
    ("kafka-events", "replace", {"member": "kafka-events-2"}),
    ("kafka-events", "maintenance", {"mode": "run"}),
]


@pytest.mark.parametrize(("service", "action", "params"), ALL_ACTIONS)
def test_every_action_does_what_its_plan_said_in_the_time_it_said(
    sim: FleetSimulation,
    clock: ManualClock,
    service: str,
    action: Action,
    params: dict[str, ParamValue],
) -> None:
    request = PlanRequest(action=action, params=params)
    plan = sim.plan(service, request)
    assert plan.allowed and plan.steps and plan.estimated_seconds > 0
    op, replayed = sim.start(service, request, actor="U1", idempotency_key="k")
    assert not replayed
    clock.advance(plan.estimated_seconds - 0.01)
    assert sim.operation(op.id).state == "running"
    clock.advance(0.01)
    assert sim.operation(op.id).state == "succeeded"
    after = sim.service(service)
    assert after.health == "healthy"
    members = {m.name: m for m in after.members}
    for change in plan.changes:
        if change.member is None and change.attribute != "credentials":
            now = getattr(after, change.attribute)
            assert (
                now.isoformat() if change.attribute == "maintenance_at" else now
            ) == change.after
        elif change.attribute in ("role", "lag_bytes"):
            assert getattr(members[change.member or ""], change.attribute) == change.after
        elif change.attribute == "host":
            assert members[change.member or ""].host != change.before


def test_kafka_keeps_two_brokers_in_sync(sim: FleetSimulation) -> None:
    sim.degrade("kafka-events", "kafka-events-1")
    healthy = PlanRequest(action="restart", params={"member": "kafka-events-2"})
    refused = sim.plan("kafka-events", healthy)
    assert not refused.allowed and "min.insync.replicas" in (refused.reason or "")
    broken = PlanRequest(action="replace", params={"member": "kafka-events-1"})
    assert sim.plan("kafka-events", broken).allowed, "replacing the broken broker is the fix"


async def test_cancel_finishes_the_step_under_way_and_cancels_the_rest(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    op = (await _start(api, "pg-orders", {"action": "switchover"}, "c-1")).json()
    clock.advance(1.0)
    cancelled = (await api.post(f"/v1/operations/{op['id']}/cancel")).json()
    assert cancelled["state"] == "cancelled" and cancelled["cancelled_by"] == "U0ALICE"
    assert [s["state"] for s in cancelled["steps"]] == [
        "succeeded", "succeeded", "cancelled", "cancelled"
    ]  # fmt: skip
    again = await _start(api, "pg-orders", {"action": "pause"}, "c-2")
    assert again.status_code == 202, "a cancelled operation no longer holds the service"
    clock.advance(5)
    late = await api.post(f"/v1/operations/{again.json()['id']}/cancel")
    assert (late.status_code, late.json()["error"]) == (409, "not_cancellable")


# -- idempotency and refusals ---------------------------------------------------------


async def test_an_idempotency_key_replays_its_operation_and_refuses_another_body(
    api: httpx.AsyncClient, sim: FleetSimulation
) -> None:
    body = {"action": "restart", "params": {"member": "pg-orders-2"}}
    first = await _start(api, "pg-orders", body, "key-1")
    replay = await _start(api, "pg-orders", body, "key-1")
    assert replay.status_code == 202 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    assert len(sim.operations(service="pg-orders")) == 1

    other = {"action": "restart", "params": {"member": "pg-orders-3"}}
    reused = await _start(api, "pg-orders", other, "key-1")
    assert (reused.status_code, reused.json()["error"]) == (409, "idempotency_key_reused")
    busy = await _start(api, "pg-orders", other, "key-2")
    assert (busy.status_code, busy.json()["error"]) == (409, "operation_in_progress")


async def test_a_switchover_without_a_healthy_replica_is_refused(
    api: httpx.AsyncClient, sim: FleetSimulation
) -> None:
    sim.degrade("pg-orders", "pg-orders-2")
    sim.degrade("pg-orders", "pg-orders-3", healthy=False)
    plan = (await api.post("/v1/services/pg-orders/plans", json={"action": "switchover"})).json()
    assert plan["allowed"] is False and "no healthy replica" in plan["reason"]
    assert plan["steps"] == [] and plan["changes"] == []
    start = await _start(api, "pg-orders", {"action": "switchover"}, "s-1")
    assert (start.status_code, start.json()["error"]) == (409, "operation_refused")
    assert sim.operations() == []


async def test_a_paused_service_warns_in_every_plan(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    assert (await _start(api, "pg-billing", {"action": "pause"}, "p-1")).status_code == 202
    clock.advance(1.0)
    plan = (await api.post("/v1/services/pg-billing/plans", json={"action": "restart"})).json()
    assert plan["allowed"] is True
    assert any("paused" in w for w in plan["warnings"])
    again = (await api.post("/v1/services/pg-billing/plans", json={"action": "pause"})).json()
    assert again["allowed"] is False


@pytest.mark.parametrize(
    ("service", "body", "headers", "status", "code"),
    [
        ("pg-orders", {"action": "explode"}, {}, 422, "invalid_params"),
        ("pg-orders", {"action": "restart", "params": {"node": "x"}}, {}, 422, "invalid_params"),
        (
            "pg-orders",
            {"action": "reinit", "params": {"member": "pg-x"}},
            {},
            422,
            "invalid_params",
        ),
        ("kafka-events", {"action": "switchover"}, {}, 422, "action_not_supported"),
        ("pg-nope", {"action": "restart"}, {}, 404, "service_not_found"),
        ("pg-orders", {"action": "restart"}, {"X-Actor": ""}, 400, "missing_actor"),
    ],
)
async def test_bad_plan_requests_get_their_error_code(
    api: httpx.AsyncClient,
    service: str,
    body: dict[str, Any],
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    answer = await api.post(f"/v1/services/{service}/plans", json=body, headers=headers)
    assert (answer.status_code, answer.json()["error"]) == (status, code)


async def test_auth_and_required_headers(api: httpx.AsyncClient) -> None:
    for auth in ("", "Bearer wrong", f"Basic {TOKEN}"):
        answer = await api.get("/v1/services/pg-orders", headers={"Authorization": auth})
        assert (answer.status_code, answer.json()["error"]) == (401, "unauthorized")
    no_key = await api.post("/v1/services/pg-orders/operations", json={"action": "restart"})
    assert (no_key.status_code, no_key.json()["error"]) == (400, "missing_idempotency_key")


# -- faults ---------------------------------------------------------------------------


async def test_5xx_fault_lasts_its_simulated_seconds(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    set_ = await api.post("/_sim/faults", json={"error_5xx": {"seconds": 10, "status": 502}})
    assert set_.json()["error_5xx_until"] is not None
    assert (await api.get("/v1/services/pg-orders")).status_code == 502
    clock.advance(9)
    assert (await api.get("/v1/services/pg-orders")).status_code == 502
    clock.advance(2)
    assert (await api.get("/v1/services/pg-orders")).status_code == 200


async def test_latency_fault_delays_answers_and_can_be_cleared(api: httpx.AsyncClient) -> None:
    await api.post("/_sim/faults", json={"latency": 0.2})
    began = time.monotonic()
    assert (await api.get("/v1/services/pg-orders")).status_code == 200
    assert time.monotonic() - began >= 0.2
    assert (await api.delete("/_sim/faults")).json()["latency"] == 0
    began = time.monotonic()
    await api.get("/v1/services/pg-orders")
    assert time.monotonic() - began < 0.2


async def test_the_next_operation_of_an_action_fails_at_its_step(
    api: httpx.AsyncClient, sim: FleetSimulation, clock: ManualClock
) -> None:
    fault = {"fail_operation": {"action": "switchover", "at_step": 3, "message": "promotion hung"}}
    assert (await api.post("/_sim/faults", json=fault)).status_code == 200
    op = (await _start(api, "pg-orders", {"action": "switchover"}, "f-1")).json()
    clock.advance(10)
    failed = (await api.get(f"/v1/operations/{op['id']}")).json()
    assert (failed["state"], failed["error"]) == ("failed", "promotion hung")
    assert [s["state"] for s in failed["steps"]] == [
        "succeeded",
        "succeeded",
        "failed",
        "cancelled",
    ]
    assert _roles(sim, "pg-orders")["pg-orders-1"] == "primary", "the promotion never happened"
    assert sim.service("pg-orders").health == "degraded", "the candidate is left failed"

    op = (await _start(api, "pg-billing", {"action": "switchover"}, "f-2")).json()
    clock.advance(10)
    assert sim.operation(op["id"]).state == "succeeded", "the fault fires once"


async def test_degrade_raises_lag_and_health_follows(api: httpx.AsyncClient) -> None:
    body = {"service": "pg-orders", "member": "pg-orders-2", "lag_bytes": 512 * 1024 * 1024}
    answer = (await api.post("/_sim/degrade", json=body)).json()
    assert answer["health"] == "degraded"
    assert (await api.get("/v1/services/pg-orders")).json()["health"] == "degraded"
    bad = await api.post("/_sim/degrade", json={"service": "pg-orders", "lagg": 1})
    assert bad.status_code == 422


# -- the contract ---------------------------------------------------------------------


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema to JSON Schema: only `nullable` differs for what the spec uses."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items() if k != "nullable"}
    return {"anyOf": [out, {"type": "null"}]} if node.get("nullable") else out


def _check(name: str, instance: Any) -> None:
    schema = {
        "$ref": f"#/components/schemas/{name}",
        "components": _json_schema(SPEC["components"]),
    }
    jsonschema.validate(instance, schema)


async def test_answers_validate_against_the_yaml(
    api: httpx.AsyncClient, clock: ManualClock
) -> None:
    _check("ServiceList", (await api.get("/v1/services")).json())
    _check("Service", (await api.get("/v1/services/pg-orders")).json())
    _check("Service", (await api.get("/v1/services/kafka-events")).json())
    plan = await api.post("/v1/services/pg-orders/plans", json={"action": "failover"})
    _check("Plan", plan.json())
    op = await _start(api, "pg-orders", {"action": "failover"}, "y-1")
    clock.advance(2)
    _check("Operation", (await api.get(f"/v1/operations/{op.json()['id']}")).json())
    _check("OperationList", (await api.get("/v1/operations", params={"state": "running"})).json())
    _check("Error", (await api.get("/v1/services/none")).json())
    with pytest.raises(jsonschema.ValidationError):
        _check(
            "Service", {"name": "x", "kind": "mysql", "plan": "p", "region": "r", "health": "ok"}
        )
