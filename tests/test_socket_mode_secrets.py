"""The app-level token never reaches a log line: a Socket Mode session (connect, commands,
a dropped socket and the reconnect, a refresh) with every logger at DEBUG, searched as in
tests/test_secrets_in_logs.py."""

from __future__ import annotations

import logging

from tests.harness import BotHarness
from tests.test_secrets_in_logs import Everything, captured_logs, encodings

__all__ = ["captured_logs"]  # the fixture, used by name

APP_TOKEN = "xapp-1-A0WATCH01-SECRET-apptoken-8e7d6c5b"


async def test_the_app_token_is_in_no_log_line(db_url: str, captured_logs: Everything) -> None:
    logging.getLogger("aiohttp").setLevel(logging.DEBUG)
    slack = {"mode": "socket", "signing_secret": "test-signing-secret", "bot_token": "xoxb-test"}
    async with BotHarness(db_url, slack={**slack, "app_token": APP_TOKEN}) as h:
        hub = h.state.socket_mode
        assert (await h.command("alice", "/fleet status pg-orders")).status_code == 200
        await hub.drop()
        assert (await h.command("bob", "/fleet status pg-billing")).status_code == 200
        await hub.disconnect("refresh_requested")
        assert (await h.command("bob", "/fleet status pg-orders")).status_code == 200
        await h.quiet()
        assert hub.opened >= 3
    lines = captured_logs.lines
    assert any("apps.connections.open" in line and "(redacted)" in line for line in lines)
    leaks = [line for line in lines for form in encodings(APP_TOKEN) if form in line]
    assert leaks == []
