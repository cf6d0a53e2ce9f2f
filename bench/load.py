"""A closed-loop load generator: N clients, each sending its next request when answered."""

from __future__ import annotations

import asyncio
import socket
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


def pooled(results: list[LoadResult]) -> LoadResult:
    """Several runs of the same load as one: their requests, time and latencies added up."""
    return LoadResult(
        sum(r.requests for r in results),
        sum(r.errors for r in results),
        sum(r.seconds for r in results),
        [ms for r in results for ms in r.latencies_ms],
    )


async def closed_loop(
    send: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]],
    *,
    clients: int,
    seconds: float,
    warmup: float = 1.0,
) -> LoadResult:
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        warm_until = time.monotonic() + warmup
        stop_at = warm_until + seconds

        async def client() -> None:
            nonlocal errors
            while (now := time.monotonic()) < stop_at:
                response = await send(http)
                took = (time.monotonic() - now) * 1000
                if now >= warm_until:
                    if response.status_code == 200:
                        latencies.append(took)
                    else:
                        errors += 1

        await asyncio.gather(*(client() for _ in range(clients)))
    return LoadResult(len(latencies), errors, seconds, latencies)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


def serve_module(command: list[str], port: int) -> subprocess.Popen[bytes]:
    """A server started from the checkout, once it listens on `port`."""
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
    )
    wait_for_port(port, process)
    return process


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate, and kill what does not stop within 10 s."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
