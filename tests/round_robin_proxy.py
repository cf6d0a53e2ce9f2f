"""One address in front of several bot replicas, as a load balancer would put them.

A TCP proxy on loopback: each new connection goes to the next backend in turn; a backend
that refuses the connection (a replica that died) is skipped, as a balancer's health
check would. Clients that want their requests split open one connection per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
from collections import Counter

PIPE_CHUNK = 65536


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(PIPE_CHUNK):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class RoundRobinProxy:
    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self.connections: Counter[int] = Counter()  # backend port -> connections sent there
        self._turn = itertools.cycle(range(len(backends)))
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self._server = await asyncio.start_server(self._accept, sock=sock)
        self.port = sock.getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _connect_next(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        for _ in self.backends:
            port = self.backends[next(self._turn)]
            try:
                upstream = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue  # that replica is down: the next one answers
            self.connections[port] += 1
            return upstream
        return None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await self._connect_next()
        if upstream is None:
            writer.close()
            return
        up_reader, up_writer = upstream
        for task in (
            asyncio.create_task(_pipe(reader, up_writer)),
            asyncio.create_task(_pipe(up_reader, writer)),
        ):
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def __aenter__(self) -> RoundRobinProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
