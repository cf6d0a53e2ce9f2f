"""What a reviewer finds after a denied command, an approval and a failed execution.

Each flow appends its rows the way the guarded-action flow does (one transaction per step,
the action's own writes beside them); the test reads them back field by field, as stored
and as exported, and answers the reviewer's question from them alone.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.audit import vocabulary as v
from bot.audit.actors import AUTOMATION, Actor
from bot.audit.export import ExportFilter, export_entries
from bot.audit.models import LOG
from bot.audit.verifier import verify
from bot.audit.writer import AuditRecord, append
from bot.db.engine import session_factory
from tests.test_audit_support import KEYS, stepping_clock

ALICE = Actor.slack("UALICE01", "alice")
BOB = Actor.slack("UBOB0002", "bob")
T0 = datetime(2024, 5, 1, 3, 12, tzinfo=UTC)


async def _step(engine: AsyncEngine, clock: Any, **row: Any) -> AuditRecord:
    async with session_factory(engine)() as session, session.begin():
        return await append(session, key=KEYS, clock=clock, **row)


async def _stored(engine: AsyncEngine, seq: int) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (await conn.execute(select(LOG).where(LOG.c.seq == seq))).one()
    found = dict(row._mapping)
    found["params"] = json.loads(found["params"])
    return found


async def _exported(engine: AsyncEngine) -> list[dict[str, Any]]:
    out = io.StringIO()
    async with engine.connect() as conn:
        await export_entries(conn, out, where=ExportFilter(target="pg-billing"))
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_a_denied_command_records_who_what_which_guard_and_why(engine: AsyncEngine) -> None:
    clock = stepping_clock(T0)
    request = {"command": "/fleet restart", "args": ["pg-billing"], "reason": "disk full",
               "idempotency_key": "trigger:13345.99"}  # fmt: skip
    guard = await _step(
        engine, clock, actor=ALICE, action=v.GUARD_DECIDED, target="pg-billing",
        params={**request, "guard": "permission",
                "why": "alice has no role allowing restart on pg-billing"},
        outcome=v.DENIED, ref="req:trigger:13345.99",
    )  # fmt: skip
    command = await _step(
        engine, clock, actor=ALICE, action=v.COMMAND_INVOKED, target="pg-billing",
        params={**request, "denied_by": "permission"}, outcome=v.DENIED,
        ref="req:trigger:13345.99",
    )  # fmt: skip

    assert await _stored(engine, guard.seq) == {
        "seq": 1,
        "at": T0,
        "actor": "UALICE01",
        "actor_name": "alice",
        "action": "guard.decided",
        "target": "pg-billing",
        "params": {
            "args": ["pg-billing"],
            "command": "/fleet restart",
            "guard": "permission",
            "idempotency_key": "trigger:13345.99",
            "reason": "disk full",
            "why": "alice has no role allowing restart on pg-billing",
        },
        "outcome": "denied",
        "ref": "req:trigger:13345.99",
        "key_id": KEYS.current.key_id,
        "prev_hash": "0" * 64,
        "hash": guard.hash,
    }
    stored = await _stored(engine, command.seq)
    assert (stored["seq"], stored["action"], stored["outcome"]) == (2, "command.invoked", "denied")
    assert stored["params"]["denied_by"] == "permission"
    assert stored["prev_hash"] == guard.hash


async def test_an_approval_records_requester_approver_and_the_exact_request(
    engine: AsyncEngine,
) -> None:
    clock = stepping_clock(T0)
    exact = {"operation": "restart", "service": "pg-billing", "member": "pg-billing-1",
             "risk": "high", "params_sha256": "9f2c" * 16}  # fmt: skip
    asked = await _step(
        engine, clock, actor=ALICE, action=v.APPROVAL_REQUESTED, target="pg-billing",
        params={**exact, "expires_at": "2024-05-01T03:27:00Z", "reason": "replica stuck"},
        outcome=v.NEEDS_APPROVAL, ref="approval:77",
    )  # fmt: skip
    approved = await _step(
        engine, clock, actor=BOB, action=v.APPROVAL_DECIDED, target="pg-billing",
        params={**exact, "requested_by": "UALICE01"}, outcome=v.APPROVED, ref="approval:77",
    )  # fmt: skip

    first, second = await _stored(engine, asked.seq), await _stored(engine, approved.seq)
    assert (first["actor"], first["action"], first["outcome"]) == (
        "UALICE01",
        "approval.requested",
        "needs_approval",
    )
    assert first["params"]["expires_at"] == "2024-05-01T03:27:00Z"
    assert (second["actor"], second["actor_name"]) == ("UBOB0002", "bob")
    assert (second["action"], second["outcome"], second["ref"]) == (
        "approval.decided",
        "approved",
        "approval:77",
    )
    assert second["params"]["requested_by"] == "UALICE01"
    # Bound to the exact parameters: the approval names the same digest as the request.
    assert second["params"]["params_sha256"] == first["params"]["params_sha256"]
    assert second["at"] > first["at"]
    assert second["prev_hash"] == first["hash"]


async def test_a_failed_execution_records_the_fleet_operation_and_its_answer(
    engine: AsyncEngine,
) -> None:
    clock = stepping_clock(T0)
    started = await _step(
        engine, clock, actor=ALICE, action=v.OPERATION_STARTED, target="pg-billing",
        params={"operation": "restart", "member": "pg-billing-1", "approved_by": "UBOB0002",
                "idempotency_key": "trigger:13345.99", "incident": "inc-42",
                "page": "alertmanager:9f1e", "fleet_token": "Bearer sk-live-123"},
        outcome=v.ACCEPTED, ref="op:fleet-8812",
    )  # fmt: skip
    finished = await _step(
        engine, clock, actor=AUTOMATION, action=v.OPERATION_FINISHED, target="pg-billing",
        params={"operation": "restart", "status": "failed", "http_status": 409,
                "error": "member pg-billing-1 is the only healthy replica",
                "post_check": None},
        outcome=v.FAILED, ref="op:fleet-8812",
    )  # fmt: skip

    start_row, end_row = await _stored(engine, started.seq), await _stored(engine, finished.seq)
    assert start_row["params"] == {
        "approved_by": "UBOB0002",
        "fleet_token": "[redacted]",
        "idempotency_key": "trigger:13345.99",
        "incident": "inc-42",
        "member": "pg-billing-1",
        "operation": "restart",
        "page": "alertmanager:9f1e",
    }
    assert (end_row["actor"], end_row["actor_name"]) == ("watchkeeper:automation", "Watchkeeper")
    assert (end_row["action"], end_row["outcome"], end_row["ref"]) == (
        "operation.finished",
        "failed",
        "op:fleet-8812",
    )
    assert end_row["params"] == {
        "error": "member pg-billing-1 is the only healthy replica",
        "http_status": 409,
        "operation": "restart",
        "post_check": None,
        "status": "failed",
    }

    # The reviewer's question, answered from the export alone.
    exported = await _exported(engine)
    assert [(r["seq"], r["actor"], r["action"], r["outcome"]) for r in exported] == [
        (1, "UALICE01", "operation.started", "accepted"),
        (2, "watchkeeper:automation", "operation.finished", "failed"),
    ]
    assert exported[0]["at"] == "2024-05-01T03:12:00.000000Z"
    assert exported[0]["params"]["approved_by"] == "UBOB0002"
    assert exported[0]["params"]["page"] == "alertmanager:9f1e"
    assert exported[1]["params"]["error"].startswith("member pg-billing-1")
    async with engine.connect() as conn:
        assert (await verify(conn, KEYS)).ok
