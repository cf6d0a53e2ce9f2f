"""What a reviewer reads afterwards: the audit rows of a denied command, an approval and
a failed execution, field by field, and the chain that holds them."""

from __future__ import annotations

import json
from typing import Any

from bot.audit.hash_chain import KeyRing
from bot.audit.verifier import verify
from tests.actions_support import (
    FleetUnderTest,
    audit_rows,
    card,
    harness,
    in_thread,
    only_request,
    requests,
)
from tests.harness import USERS, BotHarness, find_button


def fields(row: Any) -> dict[str, Any]:
    return {
        "actor": row.actor, "actor_name": row.actor_name, "action": row.action,
        "target": row.target, "outcome": row.outcome, "ref": row.ref,
    }  # fmt: skip


async def chain_ok(h: BotHarness) -> None:
    async with h.bot.runtime.engine.connect() as conn:
        report = await verify(conn, KeyRing.from_config(h.config.audit))
    assert report.ok, report.problem


async def test_a_denied_command_records_who_what_and_which_guard_said_no(db_url: str) -> None:
    async with harness(db_url) as h:
        await h.command("erin", "/fleet restart pg-orders member=pg-orders-2 -- it looks stuck")
        answer = await h.wait_for_response("erin")
        row = await only_request(h)
        (entry,) = await audit_rows(h, row.id)
        assert f"(audit #{entry.seq})" in answer.text
        assert fields(entry) == {
            "actor": USERS["erin"], "actor_name": "erin", "action": "guard.decided",
            "target": "pg-orders", "outcome": "denied", "ref": row.id,
        }  # fmt: skip
        params = json.loads(entry.params)
        assert params["request"] == row.id
        assert params["action"] == "restart"
        assert params["params"] == {"member": "pg-orders-2"}
        assert params["reason"] == "it looks stuck"
        assert params["idempotency_key"] == row.idempotency_key
        assert row.idempotency_key.startswith("slack:")
        assert params["break_glass"] is False
        assert params["stage"] == "submit"
        assert params["decided_by"] == "permission"
        assert [g[:2] for g in params["guards"]] == [
            ["audit", "allow"], ["validation", "allow"], ["policy", "allow"],
            ["permission", "deny"],
        ]  # fmt: skip
        assert "may not run `restart`" in params["guards"][-1][2]
        await chain_ok(h)


async def test_an_approval_records_the_approver_and_the_exact_parameters(db_url: str) -> None:
    async with harness(db_url) as h:
        await h.command("alice", "/fleet switchover pg-billing candidate=pg-billing-2 -- drill")
        preview = await h.wait_for_response("alice")
        await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
        approval = await card(h, "Approval needed")
        await h.click("bob", find_button(approval.blocks, "Approve"), message_ts=approval.ts)
        await in_thread(h, approval, "post-check")
        row = await only_request(h)
        rows = {r.action: r for r in await audit_rows(h, row.id)}
        asked = rows["approval.requested"]
        assert fields(asked) == {
            "actor": USERS["alice"], "actor_name": "alice", "action": "approval.requested",
            "target": "pg-billing", "outcome": "needs_approval", "ref": row.id,
        }  # fmt: skip
        asked_params = json.loads(asked.params)
        assert asked_params["approver_roles"] == ["responder"]
        assert asked_params["params_hash"] == row.params_hash
        assert asked_params["params"] == {"candidate": "pg-billing-2"}
        assert "expires_at" in asked_params
        decided = rows["approval.decided"]
        assert fields(decided) == {
            "actor": USERS["bob"], "actor_name": "bob", "action": "approval.decided",
            "target": "pg-billing", "outcome": "approved", "ref": row.id,
        }  # fmt: skip
        decided_params = json.loads(decided.params)
        assert decided_params["params_hash"] == row.params_hash
        assert decided_params["requester"] == USERS["alice"]
        claim = json.loads(rows["operation.requested"].params)
        assert claim["approved_by"] == [USERS["bob"]]
        started = rows["operation.started"]
        assert (started.outcome, started.ref) == ("accepted", row.operation_id)
        assert json.loads(started.params)["actor"] == USERS["alice"]  # sent as X-Actor
        await chain_ok(h)


async def test_a_failed_execution_records_the_error_and_the_lock(db_url: str) -> None:
    async with FleetUnderTest() as fleet, harness(db_url, fleet=fleet.backend()) as h:
        fleet.sim.faults.fail_next_operation("reinit", at_step=2, message="clone failed: disk full")
        await h.command("alice", "/fleet reinit pg-orders member=pg-orders-3")
        started = await h.wait_for_response("alice")  # low risk: runs at once
        assert "started as" in started.text
        announcement = await card(h, "reinit pg-orders")
        said = await in_thread(h, announcement, "disk full")
        (row,) = await requests(h)
        rows = await audit_rows(h, row.id)
        assert [(r.action, r.outcome) for r in rows] == [
            ("guard.decided", "accepted"),
            ("operation.requested", "accepted"),
            ("operation.started", "accepted"),
            ("operation.finished", "failed"),
        ]
        finished = rows[-1]
        assert fields(finished) == {
            "actor": USERS["alice"], "actor_name": "alice", "action": "operation.finished",
            "target": "pg-orders", "outcome": "failed", "ref": row.operation_id,
        }  # fmt: skip
        params = json.loads(finished.params)
        assert params["request"] == row.id and params["error"] == "clone failed: disk full"
        assert params["lock_released"] is True
        assert f"#{finished.seq}" in repr(said.blocks)  # the thread cites the audit row
        await chain_ok(h)
