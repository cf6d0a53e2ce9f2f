"""Slack's and the fleet's reachability, from the calls the bot makes anyway: /status
shows each (last success, last failure and why) and says "degraded" while one is cut off,
the metrics show it per dependency, and /readyz stays ready throughout: a Slack or fleet
outage must not take the replica out of the load balancer."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.monitoring.metrics import Metrics
from integrations.fleet.errors import (
    FleetProtocolError,
    FleetRequestRejected,
    FleetTimeout,
    FleetUnavailable,
    ServiceNotFound,
)
from integrations.slack.errors import SlackApiError, SlackRateLimited, SlackUnavailable
from tests.harness import BotHarness

UP = "watchkeeper_dependency_up"


def dependency_up(metrics_text: str) -> dict[str, float]:
    return {
        sample.labels["dependency"]: sample.value
        for family in text_string_to_metric_families(metrics_text)
        if family.name == UP
        for sample in family.samples
    }


def test_an_answer_of_any_kind_is_reachable_no_answer_is_not() -> None:
    metrics = Metrics()
    reach = metrics.reachability
    cases: list[tuple[Any, bool]] = [
        (SlackUnavailable("chat.postMessage: HTTP 503"), False),
        (SlackRateLimited("chat.postMessage", 5), True),
        (SlackApiError("chat.postMessage", "channel_not_found"), True),
        (SlackUnavailable("chat.postMessage: timed out"), False),
    ]
    for exc, reachable in cases:
        metrics.slack_error("chat.postMessage", exc)
        assert reach.contacts()["slack"].reachable is reachable, exc
    metrics.slack_answered("chat.update")
    assert reach.contacts()["slack"].reachable is True
    assert reach.contacts()["slack"].last_failure == "chat.postMessage: timed out"

    for fleet_exc, reachable in [
        (FleetTimeout("GET /v1/services/x: no answer within 5 s"), False),
        (ServiceNotFound("pg-nope"), True),
        (FleetProtocolError("GET /v1/services: not JSON"), False),
        (FleetRequestRejected(409, "locked"), True),
        (FleetUnavailable("GET /v1/services: 503"), False),
        (None, True),
    ]:
        metrics.fleet_call("sim", fleet_exc)
        assert reach.contacts()["fleet:sim"].reachable is reachable, fleet_exc
    assert dependency_up(metrics.render().decode()) == {"slack": 1.0, "fleet:sim": 1.0}


async def status_of(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/status")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def ready(client: httpx.AsyncClient) -> bool:
    answer = await client.get("/readyz")
    return answer.status_code == 200 and answer.json()["status"] == "ok"


async def test_slack_cut_off_shows_on_status_and_in_metrics_never_on_readyz(db_url: str) -> None:
    async with BotHarness(db_url) as h, httpx.AsyncClient(base_url=h.url) as client:
        # Every dependency is listed from the start; Slack answered auth.test at start.
        body = await h.eventually(lambda: _slack_is(client, True))
        assert set(body["reachability"]["fleet"]) == {"sim"}

        h.state.set_fault("error_5xx", status=503)
        await h.command("alice", "/fleet status pg-orders")
        body = await h.eventually(lambda: _slack_is(client, False))
        slack = body["reachability"]["slack"]
        assert "HTTP 503" in slack["last_failure"] and slack["last_failure_at"]
        assert body["status"] == "degraded"
        assert "unreachable:slack" in [p["problem"] for p in body["problems"]]
        assert await ready(client)
        assert dependency_up((await client.get("/metrics")).text)["slack"] == 0.0

        h.state.clear_fault()
        h.bot.worker.wake()
        body = await h.eventually(lambda: _slack_is(client, True), within=20.0)
        assert body["status"] == "ok" and body["reachability"]["slack"]["last_failure_at"]
        assert dependency_up((await client.get("/metrics")).text)["slack"] == 1.0


async def _slack_is(client: httpx.AsyncClient, reachable: bool) -> dict[str, Any] | None:
    body = await status_of(client)
    return body if body["reachability"]["slack"]["reachable"] is reachable else None


async def test_the_fleet_cut_off_shows_on_status_and_an_unknown_service_is_an_answer(
    db_url: str,
) -> None:
    async with BotHarness(db_url) as h, httpx.AsyncClient(base_url=h.url) as client:
        sim = h.bot.fleet.backends["sim"]
        control = httpx.AsyncClient(base_url=sim.url)
        assert (await status_of(client))["reachability"]["fleet"]["sim"]["reachable"] is None

        await control.post("/_sim/faults", json={"error_5xx": {"seconds": 3600}})
        await h.command("alice", "/fleet status pg-orders")
        await h.wait_for_response("alice")
        body = await status_of(client)
        sim_seen = body["reachability"]["fleet"]["sim"]
        assert sim_seen["reachable"] is False and sim_seen["last_success_at"] is None
        assert "unreachable:fleet:sim" in [p["problem"] for p in body["problems"]]
        assert body["status"] == "degraded" and await ready(client)
        assert dependency_up((await client.get("/metrics")).text)["fleet:sim"] == 0.0

        await control.delete("/_sim/faults")
        await control.aclose()
        await h.command("alice", "/fleet status pg-nope")  # a 404 is the fleet answering
        await h.wait_for_response("alice", count=2)
        body = await status_of(client)
        assert body["reachability"]["fleet"]["sim"]["reachable"] is True
        assert "unreachable:fleet:sim" not in [p["problem"] for p in body["problems"]]
        assert dependency_up((await client.get("/metrics")).text)["fleet:sim"] == 1.0
