"""`GET /metrics` moves with what the bot really does: a page through the hook, a denied
action, an action that runs, a Slack outage answered 503 by the stand-in."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.monitoring.metrics import Metrics
from integrations.slack.errors import SlackApiError
from tests.actions_support import PERMISSIONS, ROLES, policies
from tests.harness import BotHarness, find_button
from tests.intake_helpers import AM_TOKEN, bearer, captured, intake_section
from tests.monitoring_support import sample, scrape

METRICS_TOKEN = "metrics-token-0123456789abcdef"


async def test_metrics_move_with_pages_denials_actions_and_slack_errors(db_url: str) -> None:
    bot = BotHarness(
        db_url,
        roles=ROLES,
        policies=policies(),
        permissions=PERMISSIONS,
        intake=intake_section(),
        monitoring={"metrics_token": METRICS_TOKEN},
    )
    async with bot as h, httpx.AsyncClient() as client:
        before = await scrape(client, h.url, METRICS_TOKEN)
        assert sample(before, "watchkeeper_pages_received_total") == 0
        assert sample(before, "watchkeeper_database_up") == 1

        _, message = captured("firing-group")
        hook = await client.post(
            h.url + "/hooks/alertmanager", content=json.dumps(message), headers=bearer(AM_TOKEN)
        )
        assert hook.status_code == 200, hook.text
        refused = await client.post(h.url + "/hooks/alertmanager", content=b"{}")
        assert refused.status_code == 401

        # carol is an auditor: the permission guard refuses her restart.
        await h.command("carol", "/fleet restart pg-orders")
        assert "refused" in (await h.wait_for_response("carol")).text.lower()
        # bob pauses a service after confirming: the action runs, and its end is timed.
        await h.command("bob", "/fleet pause redis-sessions -- noisy failovers")
        preview = await h.wait_for_response("bob")
        await h.click("bob", find_button(preview.blocks, "Confirm"), ephemeral=True)

        async def action_timed() -> str | None:
            text = await scrape(client, h.url, METRICS_TOKEN)
            count = sample(text, "watchkeeper_action_duration_seconds_count", action="pause")
            # Gauges are read from the database at most every 2 s, counters move at once.
            return text if count and sample(text, "watchkeeper_incidents_open") else None

        after = await _eventually(action_timed)
        alerts = len(message["alerts"])
        assert sample(after, "watchkeeper_pages_received_total", source="alertmanager") == alerts
        assert (
            sample(
                after,
                "watchkeeper_intake_refused_total",
                source="alertmanager",
                reason="unauthorized",
            )
            == 1
        )
        assert sample(after, "watchkeeper_guard_denials_total", guard="permission") == 1
        # Two /fleet commands so far (carol's refused restart, bob's pause), each timed.
        timed = sample(after, "watchkeeper_command_duration_seconds_count", command="fleet")
        assert timed == 2

        # Slack answers 503 to every call: the outbox counts the errors and the backlog grows.
        h.state.set_fault("error_5xx", status=503)
        await h.command("alice", "/fleet status pg-orders")

        async def slack_failed() -> str | None:
            text = await scrape(client, h.url, METRICS_TOKEN)
            errors = sample(text, "watchkeeper_slack_api_errors_total", error="unavailable")
            return text if errors and sample(text, "watchkeeper_outbox_depth") >= 1 else None

        await _eventually(slack_failed)
        h.state.clear_fault()


async def test_metrics_ask_for_the_configured_bearer_token(db_url: str) -> None:
    bot = BotHarness(db_url, monitoring={"metrics_token": METRICS_TOKEN})
    async with bot as h, httpx.AsyncClient() as client:
        assert (await client.get(h.url + "/metrics")).status_code == 401
        wrong = await client.get(h.url + "/metrics", headers=bearer("x" * 30))
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"].startswith("Bearer")
        assert "watchkeeper_outbox_depth" in await scrape(client, h.url, METRICS_TOKEN)


def test_each_runtime_counts_apart() -> None:
    # Two bots in one process (tests, side-by-side demos) must not share series.
    first, second = Metrics(), Metrics()
    first.guard_denied("permission")
    assert sample(first.render().decode(), "watchkeeper_guard_denials_total") == 1
    assert sample(second.render().decode(), "watchkeeper_guard_denials_total") == 0


def test_odd_slack_error_names_become_safe_labels() -> None:
    metrics = Metrics()
    odd = SlackApiError("chat.postMessage", 'bad"name\n{x}' + "y" * 200)
    metrics.slack_error("chat.postMessage", odd)
    text = metrics.render().decode()
    (error,) = [
        s.labels["error"]
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "watchkeeper_slack_api_errors_total"
    ]
    assert error == "bad_name__x_" + "y" * 48


async def _eventually(probe: Callable[[], Awaitable[str | None]], within: float = 15.0) -> str:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError("the metrics did not move")


async def test_get_endpoints_refuse_oversize_bodies_too(db_url: str) -> None:
    async with BotHarness(db_url) as h, httpx.AsyncClient() as client:
        limit = h.config.server.max_body_bytes
        for path in ("/healthz", "/livez", "/readyz", "/status", "/metrics"):
            big = await client.request("GET", h.url + path, content=b"x" * (limit + 1))
            assert big.status_code == 413, path
            assert (await client.get(h.url + path)).status_code == 200, path
