"""What the fixtures of real servers share (tests/patroni_cluster.py,
tests/redis_sentinel_cluster.py): free loopback ports, the processes they started, waiting
on them with their logs' tails when something does not come up."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

LOG_TAIL_LINES = 25


def free_ports(count: int) -> list[int]:
    # Hold every socket until all are chosen, so the same port is not handed out twice.
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


def logs_tail(processes: Sequence[Process], lines: int = LOG_TAIL_LINES) -> str:
    parts = []
    for process in processes:
        try:
            text = process.log.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            text = f"(cannot read {process.log}: {exc.strerror})"
        tail = "\n".join(text.splitlines()[-lines:])
        state = process.popen.poll()
        status = "running" if state is None else f"exited with {state}"
        parts.append(f"--- {process.name} ({status}), last {lines} lines ---\n{tail}")
    return "\n".join(parts)


def wait_for(
    label: str,
    processes: Sequence[Process],
    what: str,
    check: Callable[[], bool],
    timeout: float = 60.0,
) -> float:
    """Poll `check` until true; fail with the logs' tails. Returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        dead = [p.name for p in processes if p.popen.poll() is not None]
        if dead:
            # No point waiting out the timeout for a process that is gone.
            pytest.fail(
                f"{label}: {', '.join(dead)} exited while waiting for {what}\n"
                + logs_tail(processes)
            )
        time.sleep(0.25)
    pytest.fail(f"{label}: {what} not within {timeout:g} s\n{logs_tail(processes)}")
