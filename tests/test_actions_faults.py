"""When the fleet is down, slow or fails midway: a clear message in the thread, the
request `failed` or `unknown`, audit rows, and the lock released or left to expire
(docs/actions.md, "When the fleet misbehaves"). Nothing is ever sent twice."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest

from bot.actions import execute
from bot.actions.tracking import reconcile_at_start
from bot.fleet import Fleet, FleetRouter
from bot.outbox import Message
from bot.parts import AppParts
from integrations.fleet.http import HttpFleet
from tests.actions_support import (
    FleetUnderTest,
    audit_rows,
    card,
    harness,
    in_thread,
    only_request,
    text_of,
)
from tests.harness import BotHarness, find_button


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def confirmed_restart(h: BotHarness, line: str = "/fleet restart pg-orders") -> Any:
    """alice asks for a restart and confirms it; the announcement card in the channel."""
    await h.command("alice", line)
    preview = await h.wait_for_response("alice")
    await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
    return await card(h, line.split()[1] + " " + line.split()[2])


def outcomes(rows: list[Any]) -> list[tuple[str, str]]:
    return [(r.action, r.outcome) for r in rows]


async def test_a_fleet_api_on_a_closed_port_is_refused_before_anything(db_url: str) -> None:
    down = {"name": "down", "type": "http", "url": f"http://127.0.0.1:{closed_port()}",
            "timeout_seconds": 1}  # fmt: skip
    async with harness(db_url, fleet=down) as h:
        await h.command("alice", "/fleet restart pg-orders")
        answer = await h.wait_for_response("alice")
        assert "could not draw a plan" in answer.text and "ConnectError" in answer.text
        row = await only_request(h)
        assert row.state == "denied"
        rows = await audit_rows(h, row.id)
        assert outcomes(rows) == [("guard.decided", "denied")]
        assert json.loads(rows[0].params)["decided_by"] == "plan"


class StartsNowhere:
    """Plans and reads from the real fleet; starts sent to a port nobody listens on."""

    def __init__(self, real: Fleet, port: int) -> None:
        self._real = real
        self._closed = HttpFleet(f"http://127.0.0.1:{port}", timeout=1)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._closed if name == "start_operation" else self._real, name)


async def test_the_fleet_down_at_start_fails_cleanly_and_frees_the_lock(db_url: str) -> None:
    def split(parts: AppParts) -> None:
        assert parts.fleet is not None
        real = parts.fleet.backend_for("pg-orders")
        assert real is not None
        parts.fleet = FleetRouter([("split", ["*"], StartsNowhere(real, closed_port()))])

    async with (
        FleetUnderTest() as fleet,
        harness(db_url, fleet=fleet.backend(), customize=split) as h,
    ):
        announcement = await confirmed_restart(h)
        said = await in_thread(h, announcement, "did not start")
        assert "ConnectError" in said.text and "lock is released" in said.text
        row = await only_request(h)
        assert (row.state, row.operation_id) == ("failed", None)
        assert fleet.sim.operations() == []
        assert outcomes(await audit_rows(h, row.id))[-2:] == [
            ("operation.requested", "accepted"), ("operation.started", "failed")]  # fmt: skip
        await h.command("bob", "/fleet locks")
        assert "No service is locked" in (await h.wait_for_response("bob")).text


async def test_a_5xx_at_start_is_unknown_then_reconciled_as_never_run(db_url: str) -> None:
    async with (
        FleetUnderTest() as fleet,
        harness(db_url, fleet=fleet.backend(), reconcile_after_seconds=1.5) as h,
    ):
        fleet.start_status = 503
        announcement = await confirmed_restart(h)
        said = await in_thread(h, announcement, "no clear answer")
        assert "will not send it again" in said.text and "stays locked" in said.text
        assert (await only_request(h)).state == "unknown"
        await h.command("bob", "/fleet locks")  # left to expire: it still protects pg-orders
        assert "pg-orders" in text_of(await h.wait_for_response("bob"))
        await in_thread(h, announcement, "no record of this operation")
        row = await only_request(h)
        assert row.state == "failed"
        assert fleet.calls["start"] == 1  # asked once, never again
        assert outcomes(await audit_rows(h, row.id))[-2:] == [
            ("operation.started", "unknown"), ("operation.reconciled", "failed")]  # fmt: skip
        await h.command("bob", "/fleet locks")
        assert "No service is locked" in (await h.wait_for_response("bob", count=2)).text


async def test_a_slow_fleet_is_unknown_then_found_and_tracked_to_the_end(db_url: str) -> None:
    async with (
        FleetUnderTest() as fleet,
        harness(db_url, fleet=fleet.backend(timeout=0.5), reconcile_after_seconds=30) as h,
    ):
        fleet.start_delay = 1.5
        announcement = await confirmed_restart(h, "/fleet restart pg-orders member=pg-orders-2")
        await in_thread(h, announcement, "no clear answer")
        found = await in_thread(h, announcement, "Found it on the fleet")
        op = fleet.sim.operations()[0]
        assert op.id in found.text
        await in_thread(h, announcement, "post-check passed")
        row = await only_request(h)
        assert (row.state, row.operation_id) == ("succeeded", op.id)
        assert fleet.calls["start"] == 1 and len(fleet.sim.operations()) == 1
        assert outcomes(await audit_rows(h, row.id))[-4:] == [
            ("operation.started", "unknown"), ("operation.reconciled", "accepted"),
            ("operation.finished", "succeeded"), ("operation.post_check", "succeeded")]  # fmt: skip


async def test_an_operation_failing_midway_is_reported_and_frees_the_lock(db_url: str) -> None:
    async with FleetUnderTest() as fleet, harness(db_url, fleet=fleet.backend()) as h:
        fleet.sim.faults.fail_next_operation(
            "restart", at_step=2, message="pg-orders-3 did not rejoin"
        )
        announcement = await confirmed_restart(h)
        said = await in_thread(h, announcement, "did not rejoin")
        assert ":x: `restart` on `pg-orders` failed" in said.text
        row = await only_request(h)
        assert row.state == "failed" and row.detail == "pg-orders-3 did not rejoin"
        rows = await audit_rows(h, row.id)
        finished = next(r for r in rows if r.action == "operation.finished")
        assert finished.outcome == "failed" and finished.ref == row.operation_id
        assert json.loads(finished.params)["error"] == "pg-orders-3 did not rejoin"
        assert json.loads(finished.params)["lock_released"] is True
        assert "post-check" not in said.text  # nothing to check after a failure


@pytest.mark.parametrize("posted", [False, True])
async def test_a_crash_between_claim_and_answer_is_reconciled_never_rerun(
    db_url: str, monkeypatch: pytest.MonkeyPatch, posted: bool
) -> None:
    """The replica dies after its claim: before the POST (nothing ran), or after it (the
    operation exists but was never recorded). Start-up reconciliation tells which."""
    async with (
        FleetUnderTest() as fleet,
        harness(
            db_url, fleet=fleet.backend(), reconcile_after_seconds=0.5, tracking_interval_seconds=60
        ) as h,
    ):

        async def crash(rt: Any, row: Any, approvers: Any) -> Message:
            if posted:
                await HttpFleet(fleet.url).start_operation(
                    row.target, "restart", {}, actor=row.requester_id,
                    idempotency_key=row.idempotency_key)  # fmt: skip
            return Message(text="(the replica died here)")

        monkeypatch.setattr(execute, "_start", crash)
        announcement = await confirmed_restart(h)
        assert (await only_request(h)).state == "executing"
        await asyncio.sleep(0.6)  # reconciliation only takes claims older than 0.5 s
        await reconcile_at_start(h.bot.runtime)
        row = await only_request(h)
        assert fleet.calls["start"] == (1 if posted else 0)  # reconciliation never starts it
        if posted:
            assert row.state == "executing" and row.operation_id == fleet.sim.operations()[0].id
            await in_thread(h, announcement, "Found it on the fleet")
        else:
            assert row.state == "failed"
            await in_thread(h, announcement, "no record of this operation")
