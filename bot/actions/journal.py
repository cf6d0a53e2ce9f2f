"""Audit rows of the action flow: one helper, so every row names the request the same way.

Rows about a request carry `ref` = the request id (operation rows: the fleet's operation
id, with the request id in params), and params = the request (action, target, exact
parameters, reason, idempotency key) plus what the step decided. A reviewer can follow
one request from command to post-check by filtering on either id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions.guard_chain import ChainResult, Person, RequestView
from bot.actions.models import ActionRequest
from bot.audit.actors import person
from bot.audit.hash_chain import AuditKeyMissing, KeyRing
from bot.audit.writer import AuditRecord, append
from bot.db.unit_of_work import writing
from bot.runtime import Runtime


def audit_ready(rt: Runtime) -> bool:
    try:
        KeyRing.from_config(rt.config.audit)
    except AuditKeyMissing:
        return False
    return True


def request_params(row: ActionRequest | RequestView) -> dict[str, Any]:
    if isinstance(row, ActionRequest):
        params = json.loads(row.params)
        reason, key, glass = row.reason, row.idempotency_key, row.break_glass
    else:
        params, reason, key, glass = dict(row.params), row.reason, None, row.break_glass
    out: dict[str, Any] = {"request": row.id, "action": row.action, "params": params}
    out["reason"] = reason
    out["break_glass"] = glass
    if key is not None:
        out["idempotency_key"] = key
    if isinstance(row, ActionRequest) and row.campaign_id:
        out["campaign"] = row.campaign_id
    return out


async def record(
    session: AsyncSession,
    rt: Runtime,
    *,
    actor: Person,
    action: str,
    row: ActionRequest,
    outcome: str,
    ref: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> AuditRecord:
    return await append(
        session,
        key=KeyRing.from_config(rt.config.audit),
        actor=person(actor.id, actor.name),
        action=action,
        target=row.target[:300],
        params={**request_params(row), **(extra or {})},
        outcome=outcome,
        ref=ref or row.id,
        clock=rt.clock,
    )


async def record_alone(
    rt: Runtime,
    *,
    actor: Person,
    action: str,
    row: ActionRequest,
    outcome: str,
    extra: Mapping[str, Any] | None = None,
) -> AuditRecord:
    """`record` in a transaction of its own: a decision that changes nothing else (a
    refused click) is still written down."""
    async with writing(rt.sessions) as session:
        return await record(
            session, rt, actor=actor, action=action, row=row, outcome=outcome, extra=extra
        )


def observe_duration(rt: Runtime, row: ActionRequest, outcome: str) -> None:
    """The action's time from its execution claim to its end, for /metrics."""
    if row.claimed_at is not None:
        seconds = (rt.clock() - row.claimed_at).total_seconds()
        rt.metrics.action_finished(row.action, outcome, seconds)


def chain_params(stage: str, result: ChainResult, **more: Any) -> dict[str, Any]:
    """Every guard's answer, in order: `[guard, allow|deny|needs_*, why]`."""
    return {
        "stage": stage,
        "guards": [d.as_audit() for d in result.decisions],
        "decided_by": result.denial.guard if result.denial else None,
        **more,
    }
