"""No secret reaches a log line: every configured secret is distinct and recognizable, every
logger (ours, httpx, httpcore, uvicorn, Bolt, the Slack SDK, SQLAlchemy) records at DEBUG
through a whole scenario (commands, a button, pages from each source, an action, refused
signatures and credentials, a Slack outage, /metrics, a heartbeat page), and then each
secret is searched for in every record, as itself and in its common encodings.

The capture handler goes through the server's own logging setup (`configure_logging`), so
the response_urls Slack hands out, credentials for half an hour, are searched for too."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import pytest

from bot.config import ConfigError, parse_config
from bot.logs import JsonFormatter, configure_logging
from integrations.grafana import DEFAULT_HEADER as GRAFANA_HEADER
from integrations.grafana import sign as grafana_sign
from integrations.slack.signing import sign
from standins.pagerduty import start_standin as start_pagerduty
from standins.slack import StandInState
from tests.actions_support import ROLES, policies
from tests.conftest import base_config
from tests.harness import BotHarness, find_button
from tests.intake_helpers import captured, grafana_message, pagerduty_event, pagerduty_headers
from tests.monitoring_support import MovingClock, heartbeat

SECRETS = {
    "bot_token": "xoxb-SECRET-bottoken-7f3a9c",
    "signing": "SECRET-signing-5d2e8b1c4a",
    "audit": "SECRET-auditkey-9b8c7d6e5f4a",
    "am_bearer": "SECRET-ambearer-1a2b3c",
    "am_password": "SECRET-ampassword-4d5e6f",
    "pd_webhook": "SECRET-pdwebhook-7a8b9c",
    "grafana_hmac": "SECRET-grafanahmac-0d1e2f",
    "generic_bearer": "SECRET-genericbearer-3a4b5c",
    "fleet_token": "SECRET-fleettoken-6d7e8f",
    "pd_escalation": "SECRET-pdescalation-9a0b1c",
    "pd_monitoring": "SECRET-pdmonitoring-2d3e4f",
    "metrics": "SECRET-metricstoken-5a6b7c8d",
}
AM_USER = "alertmanager"


def encodings(secret: str) -> set[str]:
    """The secret as it could leak: plain, URL-quoted, base64 alone and as basic auth."""
    raw = secret.encode()
    found = {secret, quote(secret, safe=""), base64.b64encode(raw).decode()}
    found.add(base64.b64encode(f"{AM_USER}:{secret}".encode()).decode())
    found.add(base64.urlsafe_b64encode(raw).decode().rstrip("="))
    return found


class Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self._formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        # `logging.format: json` too: the ids in context and the traceback as one string.
        self._json = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        text = self._formatter.format(record)  # message, args, traceback, stack
        self.lines.append(f"{text} {self._json.format(record)} {record.__dict__!r}")


@pytest.fixture
def captured_logs() -> Iterator[Everything]:
    handler = Everything()
    root = logging.getLogger()
    old_level = root.level
    names = ["", "httpx", "httpcore", "uvicorn", "uvicorn.error", "uvicorn.access"]
    names += ["slack_bolt", "slack_sdk", "sqlalchemy", "apscheduler", "bot", "integrations"]
    old = {n: logging.getLogger(n).level for n in names}
    root.addHandler(handler)
    configure_logging()
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for name, level in old.items():
            logging.getLogger(name).setLevel(level)
        root.setLevel(old_level)


class MintedUrls(StandInState):
    """The stand-in, remembering every response_url it hands out."""

    def __init__(self) -> None:
        super().__init__()
        self.minted: list[str] = []

    def new_response_url(
        self, base_url: str, channel: str, user: str, message_ts: str | None = None
    ) -> str:
        url = super().new_response_url(base_url, channel, user, message_ts)
        self.minted.append(url)
        return url


def sections(pd_url: str) -> dict[str, object]:
    s = SECRETS
    return {
        "slack": {"signing_secret": s["signing"], "bot_token": s["bot_token"]},
        "roles": ROLES,
        "policies": policies(),
        "fleet": {
            "backends": [
                {
                    "name": "sim",
                    "type": "simulator",
                    "url": "http://127.0.0.1:0",
                    # Fleet credentials are only accepted from the environment.
                    "token": "${WK_TEST_FLEET_TOKEN:-" + s["fleet_token"] + "}",
                }
            ]
        },
        "intake": {
            "alertmanager": {
                "auth": {"bearer_tokens": [s["am_bearer"]], "basic": {AM_USER: s["am_password"]}}
            },
            "pagerduty": {"secrets": [s["pd_webhook"]]},
            "grafana": {"auth": {"hmac": {"secrets": [s["grafana_hmac"]]}}},
            "generic": {
                "uptime": {
                    "auth": {"bearer_tokens": [s["generic_bearer"]]},
                    "mapping": {"dedup_key": "id", "title": "name", "status": "state"},
                }
            },
        },
        "escalation": {
            "after_minutes": 0,
            "pagerduty": {"routing_key": s["pd_escalation"], "events_url": pd_url},
        },
        "monitoring": {
            "metrics_token": s["metrics"],
            "outbox_stuck_seconds": 10,
            "check_seconds": 3600,
            "pagerduty": {"routing_key": s["pd_monitoring"], "events_url": pd_url},
        },
        "audit": {"key": "${WK_AUDIT:-" + s["audit"] + "}", "checkpoint_file": None},
    }


async def scenario(h: BotHarness, client: httpx.AsyncClient, clock: MovingClock) -> None:
    s = SECRETS
    url = h.url
    await h.command("alice", "/fleet status pg-orders")
    await h.wait_for_response("alice")
    await h.command("bob", "/fleet pause redis-sessions -- noisy")
    preview = await h.wait_for_response("bob")
    await h.click("bob", find_button(preview.blocks, "Confirm"), ephemeral=True)
    await h.command("carol", "/fleet restart pg-orders")  # denied
    await h.wait_for_response("carol")

    _, am = captured("firing-group")
    body = json.dumps(am).encode()
    basic = base64.b64encode(f"{AM_USER}:{s['am_password']}".encode()).decode()
    wrong = base64.b64encode(f"{AM_USER}:{s['am_password']}x".encode()).decode()
    for headers, status in [
        ({"Authorization": f"Bearer {s['am_bearer']}"}, 200),
        ({"Authorization": f"Basic {basic}"}, 200),
        ({"Authorization": f"Basic {wrong}"}, 401),
        ({"Authorization": f"Bearer {s['am_bearer']}x"}, 401),
    ]:
        answer = await client.post(url + "/hooks/alertmanager", content=body, headers=headers)
        assert answer.status_code == status, answer.text
    pd = json.dumps(pagerduty_event()).encode()
    ok = await client.post(
        url + "/hooks/pagerduty", content=pd, headers=pagerduty_headers(pd, s["pd_webhook"])
    )
    assert ok.status_code == 200
    grafana = json.dumps(grafana_message()).encode()
    signed = {GRAFANA_HEADER: grafana_sign(grafana, s["grafana_hmac"])}
    assert (await client.post(url + "/hooks/grafana", content=grafana, headers=signed)).is_success
    generic = json.dumps({"id": "x1", "name": "probe", "state": "firing"}).encode()
    bearer = {"Authorization": f"Bearer {s['generic_bearer']}"}
    assert (
        await client.post(url + "/hooks/generic/uptime", content=generic, headers=bearer)
    ).is_success

    # A forged Slack request, signed with the wrong secret, and one with a stale timestamp.
    form = b"command=%2Ffleet&text=status"
    stale = str(int(time.time()) - 3600)
    for secret, ts in [(s["signing"] + "x", str(int(time.time()))), (s["signing"], stale)]:
        refused = await client.post(
            url + "/slack/events", content=form,
            headers={"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sign(secret, ts, form),
                     "Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        assert refused.status_code == 401

    # Slack fails: the outbox logs its errors; the heartbeat pages PagerDuty.
    h.state.set_fault("error_5xx", status=503)
    await h.command("alice", "/fleet status pg-orders")
    metrics = {"Authorization": f"Bearer {s['metrics']}"}
    assert (await client.get(url + "/metrics", headers=metrics)).status_code == 200
    assert (
        await client.get(url + "/metrics", headers={"Authorization": "Bearer no"})
    ).status_code == 401
    assert await h.quiet() >= 1  # the answer failed to go out and waits on a back-off
    clock.advance(11)  # the outbox is now stuck: the heartbeat pages PagerDuty
    await heartbeat(h.bot).check_once()
    h.state.clear_fault()


async def test_no_secret_in_any_log_record(db_url: str, captured_logs: Everything) -> None:
    pd_server, pd = await start_pagerduty()
    try:
        clock = MovingClock(datetime.now(UTC))
        standin = MintedUrls()
        bot = BotHarness(db_url, clock=clock, standin=standin, **sections(pd_server.url))
        async with bot as h, httpx.AsyncClient() as c:
            await scenario(h, c, clock)
    finally:
        await pd_server.stop()
    assert any(e.event_action == "trigger" for e in pd.events)
    # The capture really saw the scenario: refusals, Slack's outage, HTTP calls, SQL.
    seen = "\n".join(captured_logs.lines)
    for expected in ["refused Slack request", "refused alertmanager delivery", "HTTP 503",
                     "HTTP Request: POST", "SELECT", "health problem raised",
                     "/response/[redacted]"]:  # fmt: skip
        assert expected in seen, expected
    # Each command and click got a response_url; its token is what grants the right to post.
    assert len(standin.minted) >= 4
    response_urls = {url: url.rsplit("/", 1)[1] for url in standin.minted}
    leaks = [
        (name, line[:300])
        for name, secret in {**SECRETS, **response_urls}.items()
        for form in encodings(secret)
        for line in captured_logs.lines
        if form in line
    ]
    assert leaks == []


def test_config_errors_never_repeat_a_secret() -> None:
    raw = base_config(monitoring={"metrics_token": "short-SECRET"})
    raw["slack"]["bot_token"] = ["xoxb-SECRET-in-a-list"]
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, {})
    assert "SECRET" not in str(caught.value)
    assert "monitoring.metrics_token" in str(caught.value)


def test_slack_hook_urls_are_redacted_in_messages_and_tracebacks(
    captured_logs: Everything,
) -> None:
    url = "https://hooks.slack.com/actions/T0WATCH01/5512345678/SECRETrespurlTokenXyz"
    request = httpx.Request("POST", url)
    logging.getLogger("httpx").info("HTTP Request: %s %s", "POST", request.url)
    try:
        httpx.Response(404, request=request).raise_for_status()
    except httpx.HTTPStatusError:
        logging.getLogger("bot.outbox").exception("response_url failed")
    seen = "\n".join(captured_logs.lines)
    assert "HTTP Request: POST https://hooks.slack.com/actions/[redacted]" in seen
    assert "HTTPStatusError" in seen
    assert "SECRETrespurlTokenXyz" not in seen
