"""Ack latency of `/fleet status` over Socket Mode against the request URL, same bot code.

Two bots on the shipped profile run in this process, each with its own Slack stand-in and
SQLite file: one in HTTP mode, answering signed POSTs to `/slack/events`, and one in
Socket Mode, answering envelopes the stand-in writes on its WebSocket (the latency is from
the envelope's send to its ack arriving back). A closed loop of 10 clients drives each in
turn, ROUNDS short runs each, so both see the same drift of a shared machine; the clients,
the stand-ins and the bots share the one event loop in both cases.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import yaml

from bench.load import LoadResult, closed_loop, pooled
from bench.report import Figure, Target
from bench.sizes import scaled
from bot.asgi import create_asgi_app
from bot.composition import open_bot
from bot.config import parse_config
from integrations.slack.sender import SlackSender
from standins.loopback import LoopbackServer
from standins.slack import start_standin
from standins.slack.socket_mode import through_socket

TITLE = "Socket Mode: /fleet status acked over the socket vs the request URL"
ROOT = Path(__file__).resolve().parent.parent
SECONDS = scaled(6.0, 0.5)  # per mode, split over ROUNDS
ROUNDS = 3
WARMUP = scaled(1.0, 0.2)
CLIENTS = 10
APP_TOKEN = "xapp-1-A0WATCH01-bench-app-level-token"

BUSY_MARK = b"overloaded right now"
Send = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]
# Per mode: [commands sent, of which answered busy in the ack (server.max_in_flight)].
SENT: dict[str, list[int]] = {"http": [0, 0], "socket": [0, 0]}


async def _bot(stack: AsyncExitStack, tmp: Path, mode: str) -> Send:
    """A running bot in `mode`; returns how a client sends it one `/fleet status`."""
    standin, state = await start_standin()
    stack.push_async_callback(standin.stop)
    raw = yaml.safe_load((ROOT / "app.yaml").read_text())
    raw["slack"].update(api_url=standin.url + "/api/", mode=mode, app_token=APP_TOKEN)
    raw["storage"]["url"] = f"sqlite+aiosqlite:///{tmp}/{mode}.db"
    raw["audit"]["checkpoint_file"] = None
    raw["fleet"]["backends"][0]["url"] = "http://127.0.0.1:0"  # each its own simulator
    config = parse_config(raw, {})
    bot = await open_bot(config)
    server = LoopbackServer(create_asgi_app(bot))
    await server.start()
    stack.push_async_callback(server.stop)
    socket = through_socket(state.socket_mode) if mode == "socket" else None
    sender = SlackSender(
        server.url + "/slack/events",
        config.slack.signing_secret.get_secret_value(),
        response_url_for=lambda channel, user: state.new_response_url(standin.url, channel, user),
        socket=socket,
    )
    stack.push_async_callback(sender.aclose)
    # Until the bot's socket is up an envelope waits for it: the warm-up absorbs that.

    async def send(_: httpx.AsyncClient) -> httpx.Response:
        answer = await sender.command(
            "/fleet", "status pg-orders", user_id="UALICE01", user_name="alice",
            channel_id="C0DEMO001",
        )  # fmt: skip
        SENT[mode][0] += 1
        SENT[mode][1] += BUSY_MARK in answer.content
        return answer

    return send


async def _measure() -> tuple[LoadResult, LoadResult]:
    with tempfile.TemporaryDirectory() as tmp:
        async with AsyncExitStack() as stack:
            sends = {mode: await _bot(stack, Path(tmp), mode) for mode in ("http", "socket")}
            runs: dict[str, list[LoadResult]] = {mode: [] for mode in sends}
            for _ in range(ROUNDS):
                for mode, send in sends.items():
                    runs[mode].append(
                        await closed_loop(
                            send, clients=CLIENTS, seconds=SECONDS / ROUNDS, warmup=WARMUP
                        )
                    )
            return pooled(runs["socket"]), pooled(runs["http"])


def run() -> Iterator[Figure]:
    socket, http = asyncio.run(_measure())
    n, base = f"{CLIENTS} clients", "request URL"
    yield Figure(f"p50 ack, {n}", socket.p50, "ms", base, http.p50, higher_is_better=False)
    yield Figure(
        f"p99 ack, {n}",
        socket.percentile(99),
        "ms",
        base,
        http.percentile(99),
        # Slack waits 3 s for an ack over either; the socket should cost no more than HTTP.
        target=Target(1.5, of_baseline=True),
        higher_is_better=False,
    )
    yield Figure(f"throughput, {n}", socket.throughput, "req/s", base, http.throughput)
    busy = {mode: 100.0 * b / max(1, sent) for mode, (sent, b) in SENT.items()}
    yield Figure(
        f"commands answered busy, {n}", busy["socket"], "%", base, busy["http"],
        higher_is_better=False,
    )  # fmt: skip
    yield Figure(
        f"unacked, {n}", socket.errors, "envelopes", base, http.errors, Target(0),
        higher_is_better=False,
    )  # fmt: skip
