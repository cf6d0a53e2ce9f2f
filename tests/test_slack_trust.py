"""A signed Slack request is trusted no further than its signature: a `response_url` that
leads away from Slack is never called, and a request from another workspace is acked and
never acted on."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from sqlalchemy import func, select

from bot import messages
from bot.actions.models import ActionRequest
from bot.audit.models import AuditEntry
from bot.cli.check_config import warnings
from bot.config import parse_config
from bot.slack_trust import is_our_workspace, response_url_check
from integrations.slack.sender import TEAM_ID, SlackSender
from standins.fleet.simulator import FleetSimulation, create_app
from standins.loopback import LoopbackServer
from tests.actions_support import ROLES, policies
from tests.conftest import base_config
from tests.harness import CHANNEL, USERS, BotHarness

FOREIGN_TEAM = "T0EVIL001"
SLACK = {"signing_secret": "test-signing-secret", "bot_token": "xoxb-test", "team_id": TEAM_ID}


class Recorder:
    """An ASGI app that answers every request and remembers its path: a would-be victim of
    a forged response_url, or a fleet API whose every call is counted."""

    def __init__(self, app: Any = None) -> None:
        self.paths: list[str] = []
        self._app = app
        self.server = LoopbackServer(self)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        if self._app is not None:
            await self._app(scope, receive, send)
            return
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})


@asynccontextmanager
async def serving(recorder: Recorder) -> AsyncIterator[Recorder]:
    async with recorder.server:
        yield recorder


# --- response_url -------------------------------------------------------------------------


def test_only_slack_and_the_configured_api_host_are_trusted() -> None:
    trusted = response_url_check("http://127.0.0.1:8791/api/")
    assert trusted("https://hooks.slack.com/commands/T0WATCH01/1/abc")
    assert trusted("https://HOOKS.slack.com:443/actions/T0WATCH01/1/abc")
    assert trusted("http://127.0.0.1:8791/response/R00001abc")
    for url in [
        "http://evil.example/",
        "http://hooks.slack.com/commands/T/1/abc",  # not TLS
        "https://hooks.slack.com.evil.example/x",
        "https://hooks.slack.com@evil.example/x",  # userinfo: the host is evil.example
        "https://hooks.slack.com\\@evil.example/x",
        "https://hooks.slack.com:8443/x",
        "http://127.0.0.1:8792/response/R1",  # the stand-in's host, another port
        "https://127.0.0.1:8791/response/R1",  # and another scheme
        "http://[::1]:8791/response/R1",
        "not a url",
        "",
    ]:
        assert not trusted(url), url


async def test_a_forged_response_url_is_never_called(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with serving(Recorder()) as evil, BotHarness(db_url) as h:
        secret = "SECRETresponseToken0001"
        forged = SlackSender(
            h.url + "/slack/events",
            h.config.slack.signing_secret.get_secret_value(),
            response_url_for=lambda channel, user: f"{evil.server.url}/hook/{secret}",
        )
        try:
            with caplog.at_level(logging.WARNING):
                answer = await forged.command(
                    "/fleet", "status pg-orders", user_id=USERS["alice"], user_name="alice",
                    channel_id=CHANNEL,
                )  # fmt: skip
                assert answer.status_code == 200
                await h.quiet()
        finally:
            await forged.aclose()
        assert evil.paths == []
        dropped = [r for r in caplog.records if "untrusted host" in r.getMessage()]
        assert dropped and "127.0.0.1" in dropped[0].getMessage()
        assert secret not in caplog.text

        # The stand-in's own response_url still works.
        await h.command("alice", "/fleet status pg-orders")
        assert (await h.wait_for_response("alice")).text.startswith("pg-orders: ")


# --- the workspace ------------------------------------------------------------------------


def from_team(body: bytes, team: str) -> bytes:
    form = dict(parse_qsl(body.decode()))
    form["team_id"] = team
    return urlencode(form).encode()


async def counts(h: BotHarness) -> tuple[int, int]:
    async with h.bot.runtime.sessions() as session:
        audit = await session.scalar(select(func.count()).select_from(AuditEntry))
        requested = await session.scalar(select(func.count()).select_from(ActionRequest))
    return int(audit or 0), int(requested or 0)


async def test_requests_from_another_workspace_are_acked_and_ignored(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    fleet = Recorder(create_app(FleetSimulation.seeded(7, 60)))
    backend = {"name": "fleet", "type": "http", "url": "", "timeout_seconds": 5}
    async with serving(fleet):
        backend["url"] = fleet.server.url
        bot = BotHarness(
            db_url, slack=SLACK, roles=ROLES, policies=policies(),
            fleet={"backends": [backend]},
        )  # fmt: skip
        async with bot as h:
            await h.quiet()
            fleet.paths.clear()
            before, slack_calls = await counts(h), len(h.state.calls())
            sender = h.sender
            with caplog.at_level(logging.WARNING):
                for line in ("status pg-orders", "restart pg-orders -- forged"):
                    body = sender.command_body(
                        "/fleet", line, user_id=USERS["alice"], user_name="alice",
                        channel_id=CHANNEL,
                    )  # fmt: skip
                    answer = await sender.send(
                        from_team(body, FOREIGN_TEAM), "application/x-www-form-urlencoded"
                    )
                    assert answer.status_code == 200
                    assert answer.text == messages.FOREIGN_WORKSPACE

                click = sender.block_action_payload(
                    user_id=USERS["alice"], user_name="alice", channel_id=CHANNEL,
                    action={"action_id": "no-such-button", "block_id": "b",
                            "text": {"type": "plain_text", "text": "x"}, "value": ""},
                    message={}, message_ts=None, ephemeral=False,
                )  # fmt: skip
                click["team"]["id"] = FOREIGN_TEAM
                click["user"]["team_id"] = FOREIGN_TEAM
                clicked = await sender.interaction(click)
                assert (clicked.status_code, clicked.text) == (200, "")

                event: dict[str, Any] = {
                    "token": "x", "team_id": FOREIGN_TEAM, "api_app_id": "A0WATCH01",
                    "type": "event_callback", "event_id": "EvFOREIGN1", "event_time": 1,
                    "event": {"type": "app_mention", "user": USERS["alice"],
                              "text": "<@U0BOT0001> help", "ts": "1.000001",
                              "channel": CHANNEL},
                }  # fmt: skip
                mentioned = await sender.send(json.dumps(event).encode(), "application/json")
                assert (mentioned.status_code, mentioned.text) == (200, "")
                await h.quiet()

            assert fleet.paths == []
            assert await counts(h) == before
            assert len(h.state.calls()) == slack_calls  # no reply, no message, anywhere
            refused = [r for r in caplog.records if "another workspace" in r.getMessage()]
            assert len(refused) == 4 and FOREIGN_TEAM in refused[0].getMessage()

            # The workspace the app is installed in is served as before.
            await h.command("alice", "/fleet status pg-orders")
            assert (await h.wait_for_response("alice")).text.startswith("pg-orders: ")
            assert fleet.paths != []


def test_an_enterprise_install_accepts_its_teams_only() -> None:
    ours = {"ours": "T0WATCH01", "our_enterprise": "E0ORG0001"}
    assert is_our_workspace("T0WATCH01", None, **ours)
    assert is_our_workspace("T0OTHER01", "E0ORG0001", **ours)
    assert not is_our_workspace("T0WATCH01", "E0EVIL001", **ours)
    assert not is_our_workspace("T0OTHER01", None, **ours)
    assert not is_our_workspace(None, None, ours="T0WATCH01", our_enterprise=None)


def test_check_config_warns_when_production_takes_every_workspace() -> None:
    raw = base_config()
    raw["slack"]["api_url"] = "https://slack.com/api/"
    assert "slack.team_id is not set" in " ".join(warnings(parse_config(raw, {}), {}))
    raw["slack"]["team_id"] = TEAM_ID  # the stand-in's, left in by mistake
    assert "local stand-in's" in " ".join(warnings(parse_config(raw, {}), {}))
    raw["slack"]["team_id"] = "T0REAL001"
    assert warnings(parse_config(raw, {}), {}) == []
    # The demo (the stand-in on loopback) needs no team id; production says so itself.
    demo = base_config()
    demo["slack"]["api_url"] = "http://127.0.0.1:8791/api/"
    assert warnings(parse_config(demo, {}), {}) == []
    assert warnings(parse_config(demo, {}), {"WATCHKEEPER_ENV": "production"}) != []
