"""What an unauthenticated sender can hold, against the server `serve` runs (uvicorn with
bot/http_server.py's settings, the real app behind bot/http_gate.py) on loopback:

- 150 connections trickling a hook body a byte a second do not keep a signed slash
  command from its ack, and the server cuts them: 408 at the body deadline, or 503 at once
  past the number of bodies allowed to be arriving;
- a request head trickled a byte a second is cut at the head deadline;
- a body streamed past the size cap is refused with 413 before it has all been sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn

from bot.asgi import create_asgi_app
from bot.http_server import server_config
from integrations.slack.sender import SlackSender
from tests.harness import CHANNEL, USERS, BotHarness
from tests.intake_helpers import AM_TOKEN, intake_section

TRICKLERS = 150
MAX_PENDING = 100
HEAD = (
    "POST /hooks/alertmanager HTTP/1.1\r\nHost: wk\r\nContent-Type: application/json\r\n"
    f"Authorization: Bearer {AM_TOKEN}\r\nContent-Length: 1000\r\n\r\n"
).encode()


@contextlib.asynccontextmanager
async def served_like_serve(db_url: str, **sections: Any) -> AsyncIterator[tuple[BotHarness, str]]:
    """The bot (its harness) and its app in a second uvicorn server configured as
    `watchkeeper serve` does."""
    async with BotHarness(db_url, **sections) as h, _second_server(h) as url:
        yield h, url


@contextlib.asynccontextmanager
async def _second_server(h: BotHarness) -> AsyncIterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    app = create_asgi_app(h.bot, manage_lifecycle=False)
    config = server_config(app, h.config.server, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        assert not task.done(), task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@dataclass
class Trickler:
    """One connection sending `first` at once, then a byte a second, until the server
    closes it; `answer` is what the server said before closing (b"" if nothing)."""

    port: int
    first: bytes
    answer: bytes = b""
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    # The server closed with our unread bytes in its buffer, so the kernel sent a reset
    # that can overtake its answer: cut all the same.
    reset: bool = False

    async def run(self, rest: bytes = b"x" * 1000) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        dripping = asyncio.create_task(self._drip(writer, rest))
        try:
            self.answer = await reader.read()  # until the server closes the connection
        except ConnectionResetError:
            self.reset = True
        finally:
            self.closed.set()
            dripping.cancel()
            writer.close()

    async def _drip(self, writer: asyncio.StreamWriter, rest: bytes) -> None:
        with contextlib.suppress(ConnectionError):
            writer.write(self.first)
            await writer.drain()
            for byte in rest:
                await asyncio.sleep(1)
                writer.write(bytes([byte]))
                await writer.drain()

    @property
    def status(self) -> int | None:
        parts = self.answer.split(b" ", 2)
        return int(parts[1]) if len(parts) > 1 and self.answer.startswith(b"HTTP/1.1") else None


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


async def test_trickling_bodies_are_cut_and_a_slash_command_still_acks(db_url: str) -> None:
    server = {"body_timeout_seconds": 4, "max_pending_bodies": MAX_PENDING}
    async with served_like_serve(db_url, intake=intake_section(), server=server) as (h, url):
        sender = SlackSender(
            url + "/slack/events",
            h.config.slack.signing_secret.get_secret_value(),
            response_url_for=lambda c, u: h.state.new_response_url(h.standin.url, c, u),
        )

        async def status_command() -> tuple[httpx.Response, float]:
            started = time.monotonic()
            ack = await sender.command(
                "/fleet", "status pg-orders", user_id=USERS["alice"], user_name="alice",
                channel_id=CHANNEL,
            )  # fmt: skip
            return ack, time.monotonic() - started

        # The same command on an idle server first: the baseline of the figure printed.
        _, idle_ack = await status_command()
        await h.wait_for_response("alice")

        tricklers = [Trickler(port_of(url), HEAD + b"{") for _ in range(TRICKLERS)]
        running = [asyncio.create_task(t.run()) for t in tricklers]
        # Every one has sent its head and a first byte: the server holds them all.
        await h.wait_for(lambda: sum(t.closed.is_set() for t in tricklers) >= 50)
        ack, acked_after = await status_command()
        await sender.aclose()
        assert ack.status_code == 200
        # Acked while the trickling bodies were still held: before their deadline.
        assert not any(t.status == 408 for t in tricklers)
        assert (await h.wait_for_response("alice", 2)).text.startswith("pg-orders: ")

        # Each is cut by the server (EOF after the answer), none runs to its end.
        async with asyncio.timeout(30):
            await asyncio.gather(*running)
        answered = [t for t in tricklers if not t.reset]
        statuses = sorted(t.status or 0 for t in answered)
        assert set(statuses) <= {408, 503}, statuses
        assert statuses.count(408) <= MAX_PENDING  # the cap held
        assert answered, "every trickler was reset: no answer to check"
        assert all(b"connection: close" in t.answer.lower() for t in answered)
        busy = [t for t in answered if t.status == 503]
        assert all(b"retry-after: " in t.answer.lower() for t in busy)
        print(f"\nslash command acked in {acked_after * 1000:.0f} ms beside {TRICKLERS} "
              f"trickling connections ({TRICKLERS - len(answered)} reset); "
              f"{idle_ack * 1000:.0f} ms on the idle server")  # fmt: skip


async def test_a_trickled_request_head_is_cut_at_the_head_deadline(db_url: str) -> None:
    async with served_like_serve(db_url, server={"header_timeout_seconds": 1}) as (_, url):
        trickler = Trickler(port_of(url), HEAD[:1])
        async with asyncio.timeout(30):
            await trickler.run(rest=HEAD[1:])
        assert trickler.answer == b""  # closed without an answer, mid-head


@pytest.mark.parametrize("declared", [False, True])
async def test_an_oversized_body_is_refused_before_it_is_all_sent(
    db_url: str, declared: bool
) -> None:
    limit = 64 * 1024
    chunk = b"x" * 8192
    chunks = 64  # 512 KiB, eight times the cap
    async with served_like_serve(
        db_url, intake=intake_section(), server={"max_body_bytes": limit}
    ) as (_, url):
        reader, writer = await asyncio.open_connection("127.0.0.1", port_of(url))
        length = f"Content-Length: {len(chunk) * chunks}" if declared else (
            "Transfer-Encoding: chunked"
        )  # fmt: skip
        writer.write(
            "POST /hooks/alertmanager HTTP/1.1\r\nHost: wk\r\n"
            f"Authorization: Bearer {AM_TOKEN}\r\n{length}\r\n\r\n".encode()
        )
        answer = asyncio.create_task(reader.read())
        sent = 0
        with contextlib.suppress(ConnectionError):
            for _ in range(chunks):
                if answer.done():
                    break
                framed = chunk if declared else b"%x\r\n%s\r\n" % (len(chunk), chunk)
                writer.write(framed)
                await writer.drain()
                sent += 1
                await asyncio.sleep(0.02)  # a slow sender: the answer can overtake it
        async with asyncio.timeout(30):
            status_line = (await answer).split(b"\r\n", 1)[0]
        writer.close()
        assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
        assert sent < chunks
