"""Click to modal: how soon `views.open` reaches Slack after a click on a button whose action
takes parameters, at 10 concurrent clicks, against a bare Bolt app opening the same view.

Slack's `trigger_id` is valid for 3 s, so the figure that matters is the time from the
click leaving the client to `views.open` arriving at the Slack stand-in (the stand-in runs
in this process and records each call's arrival on the same monotonic clock). The bot does
what a real click costs: the delivery's dedupe row, the permission step and its audit row,
a read of the service's healthy replicas from the fleet (its own process, over HTTP), then
`views.open`. The bare Bolt app acks and opens a prepared view. Both run alone, one after
the other, in rounds of 10 clicks sent at once.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.load import LoadResult, free_port, serve_module, stop_process
from bench.report import Figure, Target, print_figures
from bench.sizes import scaled_count
from integrations.slack.sender import SlackSender
from standins.slack import StandInState, start_standin

TITLE = "Click to modal: views.open after a click, 10 at once, vs a bare Bolt app"
SECRET = "bench-signing-secret"
TOKEN = "bench-am-token"
ROOT = Path(__file__).resolve().parent.parent
CHANNEL = "C0DEMO001"
CLICKS = 10
ROUNDS = scaled_count(20, 2)
WARMUP_ROUNDS = 1
# A click whose views.open has not arrived by then is counted as missed (Slack: 3 s).
GIVE_UP_SECONDS = 5.0
ALERT = "BenchPrimaryChange"
BARE_BUTTON = {
    "action_id": "incident:act:0",
    "text": {"type": "plain_text", "text": "Switchover"},
    "value": "{}",
    "message_ts": "1.000001",
}


def _bot_config(tmp: Path, port: int, standin_port: int, fleet_port: int) -> Path:
    raw = yaml.safe_load((ROOT / "app.yaml").read_text())
    raw["slack"]["signing_secret"] = SECRET
    raw["slack"]["api_url"] = f"http://127.0.0.1:{standin_port}/api/"
    raw["storage"]["url"] = f"sqlite+aiosqlite:///{tmp}/bench.db"
    raw["server"]["port"] = port
    raw["fleet"]["backends"][0] = {
        "name": "fleet",
        "type": "http",
        "url": f"http://127.0.0.1:{fleet_port}",
        "services": ["*"],
    }
    raw["audit"]["checkpoint_file"] = None
    raw["intake"] = {"alertmanager": {"auth": {"bearer_tokens": [TOKEN]}}}
    # A switchover without a candidate: the button opens the modal (bot/actions/action_form.py).
    raw["suggested_actions"] = {ALERT: ["switchover"]}
    raw["demo"]["page_every_seconds"] = 0
    path = tmp / "app.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _page() -> bytes:
    started = "2026-11-26T03:00:00+00:00"
    labels = {
        "alertname": ALERT,
        "service": "pg-orders",
        "kind": "postgres",
        "severity": "critical",
    }
    alert = {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": "bench"},
        "startsAt": started,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": "bench0001",
    }
    webhook = {
        "receiver": "watchkeeper",
        "status": "firing",
        "alerts": [alert],
        "groupLabels": {"alertname": ALERT},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": "{}:bench",
        "truncatedAlerts": 0,
    }
    return json.dumps(webhook).encode()


async def _switchover_button(state: StandInState, port: int) -> dict[str, Any]:
    """Page the bot and wait for the incident root's Switchover button."""
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"http://127.0.0.1:{port}/hooks/alertmanager",
            content=_page(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        answer.raise_for_status()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for message in state.messages(CHANNEL):
            for block in message.blocks:
                for element in block.get("elements") or []:
                    if element.get("type") == "button" and element["text"]["text"] == "Switchover":
                        return {**element, "message_ts": message.ts}
        await asyncio.sleep(0.05)
    raise RuntimeError("the bot posted no root with a Switchover button")


async def _round(
    state: StandInState, sender: SlackSender, button: dict[str, Any]
) -> tuple[list[float], int]:
    """10 clicks sent at once; each one's click-to-views.open time, and how many missed."""
    sent: dict[str, float] = {}

    async def click() -> None:
        trigger = state.new_trigger_id("UALICE01")
        payload = sender.block_action_payload(
            user_id="UALICE01",
            user_name="alice",
            channel_id=CHANNEL,
            action={
                "action_id": button["action_id"],
                "block_id": "b",
                "text": button["text"],
                "value": button["value"],
            },
            message={"ts": button["message_ts"], "text": ""},
            message_ts=button["message_ts"],
            ephemeral=False,
        )
        payload["trigger_id"] = trigger
        sent[trigger] = time.monotonic()
        await sender.interaction(payload)

    since = state.last_call_seq
    await asyncio.gather(*(click() for _ in range(CLICKS)))
    deadline = time.monotonic() + GIVE_UP_SECONDS
    arrived: dict[str, float] = {}
    while time.monotonic() < deadline and len(arrived) < CLICKS:
        for call in state.calls("views.open", since=since):
            trigger = str(call.payload.get("trigger_id"))
            if trigger in sent and call.error is None:
                arrived.setdefault(trigger, call.at)
        await asyncio.sleep(0.01)
    return [(arrived[t] - sent[t]) * 1000 for t in arrived], CLICKS - len(arrived)


async def _measure(state: StandInState, port: int, button: dict[str, Any] | None) -> LoadResult:
    """Rounds of clicks at the server on `port`; the bot's own Switchover button, or for
    the bare app (which opens its view on any button) one shaped like it."""
    sender = SlackSender(f"http://127.0.0.1:{port}/slack/events", SECRET)
    try:
        if button is None:
            button = await _switchover_button(state, port)
        latencies: list[float] = []
        missed = 0
        started = time.monotonic()
        for n in range(WARMUP_ROUNDS + ROUNDS):
            these, lost = await _round(state, sender, button)
            if n >= WARMUP_ROUNDS:
                latencies += these
                missed += lost
        return LoadResult(len(latencies), missed, time.monotonic() - started, latencies)
    finally:
        await sender.aclose()


def _figures(bot: LoadResult, bare: LoadResult) -> list[Figure]:
    base = "bare Bolt, same view"
    n = f"{CLICKS} concurrent clicks"
    return [
        Figure(
            f"p50 click → views.open, {n}", bot.p50, "ms", base, bare.p50, higher_is_better=False
        ),
        Figure(
            f"p95 click → views.open, {n}",
            bot.percentile(95),
            "ms",
            base,
            bare.percentile(95),
            higher_is_better=False,
        ),
        Figure(
            f"p99 click → views.open, {n}",
            bot.percentile(99),
            "ms",
            base,
            bare.percentile(99),
            target=Target(1000),
            higher_is_better=False,
        ),
        Figure(
            f"clicks with no views.open within {GIVE_UP_SECONDS:.0f} s",
            bot.errors,
            "clicks",
            base,
            bare.errors,
            Target(0),
            higher_is_better=False,
        ),
    ]


async def _both(tmp: Path) -> tuple[LoadResult, LoadResult]:
    standin, state = await start_standin()
    fleet_port = free_port()
    fleet = serve_module(
        [sys.executable, "-m", "standins.fleet.simulator", "--port", str(fleet_port)], fleet_port
    )
    standin_port = int(standin.url.rsplit(":", 1)[1])
    try:
        bot_port, bare_port = free_port(), free_port()
        config = _bot_config(tmp, bot_port, standin_port, fleet_port)
        bot = await asyncio.to_thread(
            serve_module,
            [sys.executable, "-m", "bot.cli", "serve", "--config", str(config)],
            bot_port,
        )
        try:
            bot_result = await _measure(state, bot_port, None)
        finally:
            stop_process(bot)
        bare_command = [sys.executable, "-m", "bench.bare_bolt_app", SECRET, str(bare_port),
                        standin.url + "/api/"]  # fmt: skip
        bare = await asyncio.to_thread(serve_module, bare_command, bare_port)
        try:
            bare_result = await _measure(state, bare_port, BARE_BUTTON)
        finally:
            stop_process(bare)
        return bot_result, bare_result
    finally:
        stop_process(fleet)
        await standin.stop()


def run() -> Iterator[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        bot, bare = asyncio.run(_both(Path(tmp)))
    yield from _figures(bot, bare)


if __name__ == "__main__":
    print_figures(TITLE, run())
