"""The fleet API as a real process that dies or stalls while an operation runs.

The simulator runs as its own process (`python -m standins.fleet.simulator`); the test
SIGKILLs it (down, and back with no memory of the operation) or SIGSTOPs it (it hangs,
then resumes). The request ends `unknown` then `failed`, or is found again and tracked to
its real end; it is never `succeeded` unseen; the lock lapses by itself (checked with the
bot's clock) or is released; the thread says what happened at each step.

On PostgreSQL, the production store: the fault is the fleet's, and the same paths on
both stores are covered in-process by test_actions_faults."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from standins.slack import Message
from tests.actions_support import (
    ROLES,
    audit_rows,
    card,
    in_thread,
    only_request,
    policies,
    text_of,
)
from tests.fault_support import SimulatedTime
from tests.harness import BotHarness, find_button
from tests.test_actions_faults import closed_port

ROOT = Path(__file__).resolve().parent.parent
LINE = "/fleet restart pg-orders member=pg-orders-2"
SIMULATOR = [sys.executable, "-m", "standins.fleet.simulator", "--seed", "7", "--size", "60"]


class FleetProcess:
    """`python -m standins.fleet.simulator` on a fixed loopback port."""

    def __init__(self) -> None:
        self.port = closed_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.popen = subprocess.Popen(
            [*SIMULATOR, "--port", str(self.port)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.popen.poll() is None, "the fleet simulator exited at start"
            try:
                if httpx.get(self.url + "/v1/services/pg-orders", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError("the fleet simulator did not start")

    def signal(self, sig: signal.Signals) -> None:
        assert self.popen is not None
        os.kill(self.popen.pid, sig)
        if sig == signal.SIGKILL:
            self.popen.wait(5)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGCONT)
            self.popen.kill()
            self.popen.wait(5)


@pytest.fixture
async def fleet() -> AsyncIterator[FleetProcess]:
    process = FleetProcess()
    process.start()
    yield process
    process.stop()


def bot(db_url: str, fleet: FleetProcess, clock: SimulatedTime) -> BotHarness:
    """The bot on the fleet process, on `clock`: a lease can be seen to lapse."""
    return BotHarness(
        db_url,
        clock=clock.now,
        roles=ROLES,
        policies=policies(reconcile_after_seconds=5),
        fleet={"backends": [
            {"name": "fleet", "type": "http", "url": fleet.url, "timeout_seconds": 1}]},
    )  # fmt: skip


async def running_restart(h: BotHarness) -> tuple[Message, str]:
    """alice restarts pg-orders and confirms; the card and operation id once it runs."""
    await h.command("alice", LINE)
    preview = await h.wait_for_response("alice")
    await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
    announcement = await card(h, "restart pg-orders")
    for _ in range(300):
        row = await only_request(h)
        if row.operation_id is not None:
            assert row.state == "executing", row.state
            return announcement, str(row.operation_id)
        await asyncio.sleep(0.02)
    raise AssertionError("the restart did not start on the fleet")


async def fleet_lost_mid_restart(
    h: BotHarness, fleet: FleetProcess, sig: signal.Signals
) -> tuple[Message, str, str]:
    """A restart runs, then the fleet process gets `sig`: the card, the operation id and
    the thread's reply that contact was lost (the request is then `unknown`)."""
    announcement, op = await running_restart(h)
    fleet.signal(sig)
    said = await in_thread(h, announcement, "Lost contact with the fleet")
    assert op in said.text
    assert (await only_request(h)).state == "unknown"
    return announcement, op, said.text


async def locks_shown(h: BotHarness, asked: int) -> str:
    await h.command("bob", "/fleet locks")
    return text_of(await h.wait_for_response("bob", count=asked))


async def test_fleet_killed_mid_operation_is_unknown_then_failed_and_the_lock_lapses(
    pg_url: str, fleet: FleetProcess
) -> None:
    clock = SimulatedTime()
    async with bot(pg_url, fleet, clock) as h:
        announcement, op, said = await fleet_lost_mid_restart(h, fleet, signal.SIGKILL)
        assert "stays locked until" in said
        assert "pg-orders" in await locks_shown(h, 1)  # it may still be restarting
        # Nobody renews the lease while the fleet is away: it lapses by the bot's clock.
        clock.elapsed += timedelta(minutes=h.config.policies.lock_ttl_minutes).total_seconds() + 1
        assert "No service is locked" in await locks_shown(h, 2)
        fleet.start()  # back, with no memory of the operation
        said = await in_thread(h, announcement, "no longer knows")
        assert op in said.text and "partly applied" in said.text
        row = await only_request(h)
        assert row.state == "failed" and row.operation_id == op
        trail = [(r.action, r.outcome) for r in await audit_rows(h, row.id)]
        assert trail[-3:] == [
            ("operation.started", "accepted"), ("operation.reconciled", "unknown"),
            ("operation.reconciled", "failed")]  # fmt: skip
        assert ("operation.finished", "succeeded") not in trail


async def test_fleet_stalled_mid_operation_is_unknown_then_found_and_tracked(
    pg_url: str, fleet: FleetProcess
) -> None:
    async with bot(pg_url, fleet, SimulatedTime()) as h:
        # The control plane hangs: reads time out.
        announcement, op, said = await fleet_lost_mid_restart(h, fleet, signal.SIGSTOP)
        assert "no answer within" in said
        fleet.signal(signal.SIGCONT)
        found = await in_thread(h, announcement, "Found it on the fleet")
        assert op in found.text
        result = await in_thread(h, announcement, "`restart` on `pg-orders`", within=30)
        row = await only_request(h)
        assert (row.state, row.operation_id) == ("succeeded", op)  # seen to succeed, said so
        assert "succeeded" in result.text
        trail = [(r.action, r.outcome) for r in await audit_rows(h, row.id)]
        assert ("operation.reconciled", "unknown") in trail
        assert ("operation.reconciled", "accepted") in trail
        assert trail[-2][0] == "operation.finished"
        assert "No service is locked" in await locks_shown(h, 1)
