"""Watching again an operation the backend forgot: the bot restarted while it ran.

A backend that keeps its operations in the bot's process (`ResumableFleet`: Patroni)
answers `OperationNotFound` for an operation a previous process started. The request's
durable record still says what was confirmed (the plan) and which operation it became,
so the backend is asked to *watch* that operation again: it rebuilds the steps from the
plan, treats every request to the fleet as already sent (never sent again), and judges
the outcome from the cluster as usual. Tracking then carries on as for any operation:
the result and the post-check in the thread (docs/backends.md, "A bot restart in the
middle of an operation").
"""

from __future__ import annotations

import json

from bot import messages as m
from bot.actions.action_blocks import Preview
from bot.actions.catalog import CATALOG
from bot.actions.guard_chain import Person
from bot.actions.lifecycle import RUNNING, RequestState
from bot.actions.models import ActionRequest
from bot.actions.moves import AuditStep, Moved, Say, move
from bot.actions.port import ResumableFleet
from bot.audit import vocabulary as v
from bot.db.unit_of_work import writing
from bot.outbox import Message
from bot.runtime import Runtime
from integrations.fleet.models import Operation


async def resume(rt: Runtime, row: ActionRequest, backend: ResumableFleet) -> Operation | None:
    """The forgotten operation, watched again; None when the record cannot say what it was.

    Raises what the backend raises (FleetError): the caller treats that as lost contact.
    """
    preview = Preview.load(row.plan)
    action = CATALOG[row.action].fleet_action
    if preview is None or action is None or row.operation_id is None:
        return None
    op = await backend.resume_operation(
        row.operation_id,
        row.target,
        action,
        json.loads(row.params),
        row.requester_id,
        preview.plan,
        idempotency_key=row.idempotency_key,
        started_at=row.claimed_at or row.created_at,
    )

    def said(moved: Moved) -> Say:
        return Say(thread=Message(text=m.operation_resumed(op.id, moved.seq)))

    async with writing(rt.sessions) as session:
        # A move to the state it is in (as progress is): its audit row and thread message.
        await move(
            session,
            rt,
            row,
            to=RequestState.EXECUTING,
            expect=RUNNING,
            facts={"detail": None},
            audit=AuditStep(
                Person(row.requester_id, row.requester_name),
                v.OPERATION_RECONCILED,
                v.RESUMED,
                ref=op.id,
                extra={"request": row.id, "operation": op.id, "was": row.state},
            ),
            say=said,
        )
    rt.wake_outbox()
    return op
