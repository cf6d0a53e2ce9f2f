"""HttpFleet: against the simulator on a real loopback port, and error mapping through
httpx.MockTransport (retries, timeouts, malformed answers, and the token kept secret)."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import httpx
import pytest
import yaml
from pydantic import BaseModel

from bot.fleet import Fleet
from integrations.fleet import models
from integrations.fleet.errors import (
    FleetError,
    FleetProtocolError,
    FleetRequestRejected,
    FleetTimeout,
    FleetUnavailable,
    OperationNotFound,
    ServiceNotFound,
)
from integrations.fleet.http import HttpFleet
from standins.fleet.simulator import FleetSimulation, ManualClock, start_simulator
from standins.loopback import LoopbackServer

TOKEN = "tok-SECRET-9f8e7d"


@dataclass
class Sim:
    url: str
    fleet: FleetSimulation
    clock: ManualClock


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    clock = ManualClock()
    server, fleet = await start_simulator(seed=7, size=240, token=TOKEN, clock=clock)
    try:
        yield Sim(server.url, fleet, clock)
    finally:
        await server.stop()


@pytest.fixture
async def client(sim: Sim) -> AsyncIterator[HttpFleet]:
    async with HttpFleet(sim.url, token=TOKEN) as fleet:
        yield fleet


# -- against the simulator ------------------------------------------------------------


async def test_it_is_a_fleet_backend_that_reads_services(client: HttpFleet) -> None:
    port: Fleet = client
    service = await port.get_service("pg-orders")
    assert (service.kind, service.health) == ("postgres", "healthy")
    assert service.primary is not None and service.primary.name == "pg-orders-1"


async def test_list_follows_every_page(client: HttpFleet, sim: Sim) -> None:
    names = [s.name for s in await client.list_services()]
    assert len(names) == 240 > 200, "more than one page of 200"
    assert names == sim.fleet.names()


async def test_unknown_service_and_operation(client: HttpFleet) -> None:
    with pytest.raises(ServiceNotFound) as caught:
        await client.get_service("pg-nope")
    assert caught.value.service == "pg-nope"
    with pytest.raises(ServiceNotFound):
        await client.plan("pg-nope", "restart", {}, actor="U1")
    with pytest.raises(OperationNotFound):
        await client.get_operation("op-999999")


async def test_plan_shows_the_change_and_refusals(client: HttpFleet, sim: Sim) -> None:
    plan = await client.plan("pg-orders", "switchover", {"candidate": "pg-orders-2"}, "U1")
    assert plan.allowed and plan.target == "pg-orders"
    promoted = next(c for c in plan.changes if c.after == "primary")
    assert (promoted.member, promoted.attribute) == ("pg-orders-2", "role")
    sim.fleet.degrade("pg-orders", "pg-orders-2")
    sim.fleet.degrade("pg-orders", "pg-orders-3")
    refused = await client.plan("pg-orders", "switchover", {}, "U1")
    assert not refused.allowed and refused.reason
    with pytest.raises(FleetRequestRejected) as caught:
        await client.plan("kafka-events", "switchover", {}, "U1")
    assert (caught.value.status, caught.value.code) == (422, "action_not_supported")


async def test_operation_runs_to_success_and_really_switches(client: HttpFleet, sim: Sim) -> None:
    op = await client.start_operation("pg-billing", "switchover", {}, "U0BOB", "trig-1")
    assert op.state == "pending" and op.actor == "U0BOB"
    polls = 0
    while not op.finished:
        sim.clock.advance(0.5)
        op = await client.get_operation(op.id)
        polls += 1
    assert op.state == "succeeded" and polls >= 6
    service = await client.get_service("pg-billing")
    assert service.primary is not None and service.primary.name != "pg-billing-1"
    assert [o.id for o in await client.list_operations(service="pg-billing")] == [op.id]
    assert await client.list_operations(service="pg-orders") == []


async def test_idempotent_replay_and_reuse(client: HttpFleet) -> None:
    params = {"member": "pg-orders-3"}
    first = await client.start_operation("pg-orders", "restart", params, "U1", "trig-7")
    again = await client.start_operation("pg-orders", "restart", params, "U1", "trig-7")
    assert again.id == first.id
    with pytest.raises(FleetRequestRejected) as caught:
        await client.start_operation(
            "pg-orders", "restart", {"member": "pg-orders-2"}, "U1", "trig-7"
        )
    assert (caught.value.status, caught.value.code) == (409, "idempotency_key_reused")
    cancelled = await client.cancel_operation(first.id, "U2")
    assert (cancelled.state, cancelled.cancelled_by) == ("cancelled", "U2")


async def test_wrong_token_is_rejected_without_showing_either_token(sim: Sim) -> None:
    async with HttpFleet(sim.url, token="not-" + TOKEN) as fleet:
        with pytest.raises(FleetRequestRejected) as caught:
            await fleet.get_service("pg-orders")
    assert caught.value.status == 401
    assert TOKEN not in str(caught.value) and "not-" not in str(caught.value)


async def test_simulated_latency_beyond_the_timeout(sim: Sim) -> None:
    sim.fleet.faults.inject_latency(0.5)
    async with HttpFleet(sim.url, token=TOKEN, timeout=0.1) as fleet:
        with pytest.raises(FleetTimeout):
            await fleet.get_service("pg-orders")


async def test_closed_port_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with HttpFleet(f"http://127.0.0.1:{port}", token=TOKEN, backoff=0) as fleet:
        with pytest.raises(FleetUnavailable) as caught:
            await fleet.list_services()
    assert not isinstance(caught.value, FleetTimeout)
    assert TOKEN not in str(caught.value)


async def test_loopback_server_is_what_start_simulator_returns() -> None:
    server, _ = await start_simulator(size=10)
    try:
        assert isinstance(server, LoopbackServer)
        async with HttpFleet(server.url) as fleet:
            assert len(await fleet.list_services()) == 10
    finally:
        await server.stop()


# -- error mapping with a mock transport ----------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]
SERVICE = {"name": "pg-x", "kind": "postgres", "plan": "p", "region": "r", "health": "healthy"}


class Recorder:
    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def fleet(self, retries: int = 2) -> HttpFleet:
        transport = httpx.MockTransport(self)
        return HttpFleet(
            "http://fleet", token=TOKEN, transport=transport, retries=retries, backoff=0
        )


def _error(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"error": code, "message": message})


async def test_get_is_retried_after_a_5xx(caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder(_error(500, "unavailable", "boom"), httpx.Response(200, json=SERVICE))
    with caplog.at_level(logging.WARNING):
        service = await recorder.fleet().get_service("pg-x")
    assert service.name == "pg-x" and len(recorder.requests) == 2
    assert recorder.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert "retry 1/2" in caplog.text and TOKEN not in caplog.text


async def test_get_gives_up_after_its_retries() -> None:
    recorder = Recorder(httpx.ConnectError("refused"))
    with pytest.raises(FleetUnavailable):
        await recorder.fleet(retries=2).get_service("pg-x")
    assert len(recorder.requests) == 3


async def test_post_is_never_retried_and_carries_its_headers() -> None:
    recorder = Recorder(_error(503, "unavailable", "down"))
    with pytest.raises(FleetUnavailable):
        await recorder.fleet().start_operation("pg-x", "restart", {"member": "m"}, "U9", "key-1")
    assert len(recorder.requests) == 1
    sent = recorder.requests[0]
    assert (sent.headers["X-Actor"], sent.headers["Idempotency-Key"]) == ("U9", "key-1")
    assert json.loads(sent.content) == {"action": "restart", "params": {"member": "m"}}


async def test_timeout_is_fleet_timeout_and_not_retried() -> None:
    recorder = Recorder(httpx.ReadTimeout("slow"))
    with pytest.raises(FleetTimeout):
        await recorder.fleet().get_operation("op-1")
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, content=b"<html>proxy</html>"),
        httpx.Response(200, json={"name": "pg-x", "kind": "mysql"}),
        httpx.Response(200, json=[SERVICE]),
        httpx.Response(302, headers={"Location": "/login"}),
    ],
)
async def test_a_malformed_answer_is_a_fleet_error(answer: httpx.Response) -> None:
    with pytest.raises(FleetProtocolError) as caught:
        await Recorder(answer).fleet().get_service("pg-x")
    assert isinstance(caught.value, FleetError) and "mysql" not in str(caught.value)


async def test_4xx_carries_the_servers_reason_but_never_the_token() -> None:
    recorder = Recorder(_error(422, "invalid_params", f"bad member; token {TOKEN} ignored"))
    with pytest.raises(FleetRequestRejected) as caught:
        await recorder.fleet().plan("pg-x", "reinit", {"member": "m"}, "U1")
    assert caught.value.status == 422 and caught.value.code == "invalid_params"
    assert "bad member" in str(caught.value) and TOKEN not in str(caught.value)
    assert len(recorder.requests) == 1


async def test_404_with_another_code_is_not_a_missing_service() -> None:
    with pytest.raises(FleetRequestRejected):
        await Recorder(_error(404, "not_found", "no route")).fleet().get_service("pg-x")
    with pytest.raises(ServiceNotFound):
        await Recorder(httpx.Response(404)).fleet().get_service("pg-x")


async def test_a_cursor_that_loops_is_a_protocol_error() -> None:
    page = {"items": [{k: SERVICE[k] for k in ("name", "kind", "region", "health")}]}
    recorder = Recorder(httpx.Response(200, json=page | {"next_cursor": "c1"}))
    with pytest.raises(FleetProtocolError):
        await recorder.fleet().list_services()
    assert len(recorder.requests) == 2


# -- the models the client parses are the yaml's ---------------------------------------

SPEC = yaml.safe_load((Path(__file__).parent.parent / "docs" / "fleet-api.yaml").read_text())
WIRE: dict[str, type[BaseModel]] = {
    "Member": models.Member,
    "Service": models.Service,
    "ServiceSummary": models.ServiceSummary,
    "ServiceList": models.ServiceList,
    "PlanRequest": models.PlanRequest,
    "Change": models.Change,
    "Plan": models.Plan,
    "OperationStep": models.OperationStep,
    "Operation": models.Operation,
    "OperationList": models.OperationList,
    "Error": models.ApiError,
}


@pytest.mark.parametrize("name", sorted(WIRE))
def test_models_and_the_yaml_name_the_same_fields(name: str) -> None:
    assert set(SPEC["components"]["schemas"][name]["properties"]) == set(WIRE[name].model_fields)


def test_the_yaml_enums_are_the_models_literals() -> None:
    schemas = SPEC["components"]["schemas"]
    for name, literal in [
        ("Action", models.Action),
        ("OperationState", models.OperationState),
        ("Risk", models.Risk),
        ("MemberState", models.MemberState),
        ("MemberRole", models.MemberRole),
        ("Health", models.Health),
        ("ServiceKind", models.ServiceKind),
    ]:
        assert schemas[name]["enum"] == list(get_args(literal)), name
