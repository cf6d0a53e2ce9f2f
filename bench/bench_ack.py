"""Ack latency of a signed `/fleet status` through the whole bot, against a bare Bolt app.

Both servers run alone in their own process (one at a time) while this process drives a
closed loop of 10 and then 50 concurrent clients; the bot does its real work after each ack
(fleet read, outbox row, delivery to the Slack stand-in), so the figure includes that load.
The two take turns in ROUNDS short runs each (bare, bot, bare, bot, ...), and each one's
latencies are pooled: on a shared machine whose load drifts, both then see the same drift.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from bench.load import LoadResult, closed_loop, free_port, pooled, serve_module
from bench.report import Figure, Target, print_figures
from bench.sizes import scaled
from integrations.slack.sender import SlackSender

TITLE = "Slack ack latency: /fleet status vs a bare Bolt app"
SECRET = "bench-signing-secret"
BUSY_MARK = b"overloaded right now"
ROOT = Path(__file__).resolve().parent.parent
SECONDS = scaled(8.0, 0.5)  # per server and client count, split over ROUNDS
ROUNDS = 3
WARMUP = scaled(1.0, 0.2)


def _bot_config(tmp: Path, port: int, standin_port: int, fleet_port: int) -> Path:
    raw = yaml.safe_load((ROOT / "app.yaml").read_text())
    raw["slack"]["signing_secret"] = SECRET
    raw["slack"]["api_url"] = f"http://127.0.0.1:{standin_port}/api/"
    raw["storage"]["url"] = f"sqlite+aiosqlite:///{tmp}/bench.db"
    raw["server"]["port"] = port
    # The control plane runs elsewhere in production; here, in its own process.
    raw["fleet"]["backends"][0] = {
        "name": "fleet",
        "type": "http",
        "url": f"http://127.0.0.1:{fleet_port}",
        "services": ["*"],
    }
    path = tmp / "app.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@dataclass
class Answers:
    """Acks seen by the clients, warm-up included: how many said the bot was busy."""

    sent: int = 0
    busy: int = 0

    @property
    def busy_percent(self) -> float:
        return 100.0 * self.busy / self.sent if self.sent else 0.0


async def _measure(port: int, clients: int, answers: Answers) -> LoadResult:
    sender = SlackSender(f"http://127.0.0.1:{port}/slack/events", SECRET)

    async def send(http: httpx.AsyncClient) -> httpx.Response:
        body = sender.command_body(
            "/fleet",
            "status pg-orders",
            user_id="UALICE01",
            user_name="alice",
            channel_id="C0DEMO001",
        )
        headers = sender.signed_headers(body, "application/x-www-form-urlencoded")
        response = await http.post(
            f"http://127.0.0.1:{port}/slack/events", content=body, headers=headers
        )
        answers.sent += 1
        # server.max_in_flight reached: the ack said so and the command was not run.
        answers.busy += BUSY_MARK in response.content
        return response

    try:
        return await closed_loop(send, clients=clients, seconds=SECONDS / ROUNDS, warmup=WARMUP)
    finally:
        await sender.aclose()


def _module(name: str, *args: str) -> list[str]:
    return [sys.executable, "-m", name, *args]


def _figures(clients: int, bot: LoadResult, bare: LoadResult, answers: Answers) -> list[Figure]:
    n = f"{clients} clients"
    base = "bare Bolt"
    return [
        Figure(f"p50 ack, {n}", bot.p50, "ms", base, bare.p50, higher_is_better=False),
        Figure(
            f"p99 ack, {n}",
            bot.percentile(99),
            "ms",
            base,
            bare.percentile(99),
            target=Target(1.5, of_baseline=True),
            higher_is_better=False,
        ),
        Figure(f"throughput, {n}", bot.throughput, "req/s", base, bare.throughput),
        # Not a latency: commands the bot turned away, overloaded, answering in the ack.
        Figure(f"commands answered busy, {n}", answers.busy_percent, "%", higher_is_better=False),
        Figure(
            f"errors, {n}",
            bot.errors,
            "non-200",
            base,
            bare.errors,
            Target(0),
            higher_is_better=False,
        ),
    ]


def run() -> Iterator[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        standin_port, fleet_port = free_port(), free_port()
        bot_port, bare_port = free_port(), free_port()
        standin = serve_module(_module("standins.slack", "--port", str(standin_port)), standin_port)
        fleet = serve_module(
            _module("standins.fleet.simulator", "--port", str(fleet_port)), fleet_port
        )
        try:
            config = _bot_config(Path(tmp), bot_port, standin_port, fleet_port)
            servers = {
                bare_port: [sys.executable, "-m", "bench.bare_bolt_app", SECRET, str(bare_port)],
                bot_port: [sys.executable, "-m", "bot.cli", "serve", "--config", str(config)],
            }
            for clients in (10, 50):
                runs: dict[int, list[LoadResult]] = {port: [] for port in servers}
                answers = {port: Answers() for port in servers}
                for _ in range(ROUNDS):
                    for port, command in servers.items():
                        server = serve_module(command, port)
                        runs[port].append(asyncio.run(_measure(port, clients, answers[port])))
                        server.terminate()
                        server.wait()
                yield from _figures(
                    clients, pooled(runs[bot_port]), pooled(runs[bare_port]), answers[bot_port]
                )
        finally:
            for process in (standin, fleet):
                process.terminate()
                process.wait()


if __name__ == "__main__":
    print_figures(TITLE, run())
