"""The shared retry policy (integrations/retry.py) and the clients that use it: how long
it waits (jittered, never under the server's Retry-After, capped), where it stops, what
it never retries, and Slack's `auth.test` at start tried until Slack answers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tenacity import RetryCallState

from integrations.fleet.errors import FleetRequestRejected, FleetUnavailable
from integrations.fleet.http import HttpFleet
from integrations.pagerduty import PagerDutyEvents, PagerDutyUnavailable
from integrations.retry import MAX_RETRY_AFTER, WaitOrRetryAfter, retrying
from standins.loopback import LoopbackServer
from standins.pagerduty import StandInState as PagerDutyState
from standins.pagerduty import start_standin as start_pagerduty
from standins.slack import StandInState
from tests.harness import BotHarness

log = logging.getLogger(__name__)


class Slow(Exception):
    """A failure that carries the server's Retry-After, as SlackRateLimited does."""

    def __init__(self, retry_after: float | None) -> None:
        self.retry_after = retry_after


def after_attempt(number: int, failure: BaseException) -> RetryCallState:
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = number
    state.set_exception((type(failure), failure, None))
    return state


def test_the_wait_is_jittered_within_a_doubling_window_and_capped() -> None:
    wait = WaitOrRetryAfter(backoff=0.5, cap=3.0)
    for number, window in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (9, 3.0)):
        delays = {wait(after_attempt(number, RuntimeError())) for _ in range(50)}
        assert all(0 <= d <= window for d in delays), (number, delays)
        assert len(delays) > 1, "no jitter: replicas would retry in lockstep"


def test_the_servers_retry_after_is_a_floor_but_never_longer_than_the_cap() -> None:
    wait = WaitOrRetryAfter(backoff=0.01, cap=1.0)
    assert wait(after_attempt(1, Slow(7.0))) == 7.0
    assert wait(after_attempt(1, Slow(86_400.0))) == MAX_RETRY_AFTER
    assert wait(after_attempt(1, Slow(None))) <= 0.01


async def test_retries_stop_at_the_limit_and_the_last_failure_is_raised() -> None:
    tries: list[int] = []

    async def failing(n: int) -> int:
        tries.append(n)
        raise FleetUnavailable(f"try {len(tries)}")

    policy = retrying(retries=2, when=lambda _: True, backoff=0, log=log)
    with pytest.raises(FleetUnavailable, match="try 3"):
        await policy(failing, 7)
    assert tries == [7, 7, 7]


async def test_a_failure_not_worth_another_try_is_raised_at_once() -> None:
    tries: list[str] = []

    async def refused() -> None:
        tries.append("x")
        raise FleetRequestRejected(409, "busy")

    policy = retrying(retries=5, when=lambda f: isinstance(f, FleetUnavailable), backoff=0, log=log)
    with pytest.raises(FleetRequestRejected):
        await policy(refused)
    assert tries == ["x"]


async def test_without_a_limit_it_tries_until_it_works() -> None:
    tries: list[int] = []

    async def flaky() -> str:
        tries.append(1)
        if len(tries) < 6:
            raise FleetUnavailable("down")
        return "up"

    assert await retrying(retries=None, when=lambda _: True, backoff=0, log=log)(flaky) == "up"
    assert len(tries) == 6


async def test_fleet_writes_are_never_retried_reads_are() -> None:
    seen: list[str] = []

    def down(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(503, json={"error": "unavailable", "message": "down"})

    transport = httpx.MockTransport(down)
    async with HttpFleet("http://fleet", transport=transport, retries=3, backoff=0) as fleet:
        for write in (
            fleet.plan("pg-x", "restart", {}, "U1"),
            fleet.start_operation("pg-x", "restart", {}, "U1", "key-1"),
            fleet.cancel_operation("op-1", "U1"),
        ):
            with pytest.raises(FleetUnavailable):
                await write
        assert seen == ["POST", "POST", "POST"]
        with pytest.raises(FleetUnavailable):
            await fleet.get_operation("op-1")
    assert seen[3:] == ["GET"] * 4


@pytest.fixture
async def pagerduty() -> AsyncIterator[tuple[LoopbackServer, PagerDutyState]]:
    server, state = await start_pagerduty()
    yield server, state
    await server.stop()


async def test_pagerdutys_retry_after_is_waited_for(
    pagerduty: tuple[LoopbackServer, PagerDutyState], caplog: pytest.LogCaptureFixture
) -> None:
    server, state = pagerduty
    state.fail_next(429)  # the stand-in says Retry-After: 1
    with caplog.at_level(logging.WARNING, logger="integrations.pagerduty.events"):
        async with PagerDutyEvents("k", base_url=server.url, backoff=0, retries=1) as events:
            assert await events.trigger("d1", "s", "critical", "src") == "d1"
    assert state.requests == 2
    (warning,) = [r.getMessage() for r in caplog.records]
    assert warning.endswith("retry 1/1 in 1.00 s"), warning


async def test_pagerduty_stops_after_its_retries(
    pagerduty: tuple[LoopbackServer, PagerDutyState],
) -> None:
    server, state = pagerduty
    state.fail_next(503, 503, 503, 503)
    async with PagerDutyEvents("k", base_url=server.url, backoff=0, retries=2) as events:
        with pytest.raises(PagerDutyUnavailable):
            await events.trigger("d1", "s", "critical", "src")
    assert state.requests == 3 and state.events == []


async def test_the_bot_learns_who_it_is_once_slack_answers_auth_test(tmp_path: Path) -> None:
    slack = StandInState()
    slack.set_fault("error_5xx", methods=["auth.test"], calls=2)
    async with BotHarness(f"sqlite+aiosqlite:///{tmp_path}/wk.db", standin=slack) as h:

        def learned() -> Any:
            return h.bot.identity.bot_user_id

        assert await h.wait_for(learned, within=20.0)
    assert [c.status for c in slack.calls("auth.test")] == [503, 503, 200]
