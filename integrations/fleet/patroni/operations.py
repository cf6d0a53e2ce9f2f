"""The operations this adapter started, kept in memory, and their idempotency keys.

Patroni has no notion of an operation: `POST /switchover` answers when it is done (or
gives up waiting), `POST /reinitialize` when it has started. So the adapter records what
it asked for, as steps, and decides the outcome by watching `/cluster`. The record lives
as long as the process: after a restart of the bot the core reconciles from its own
database, never from here (an unknown id is `OperationNotFound`).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from integrations.fleet.errors import FleetRequestRejected, OperationNotFound
from integrations.fleet.models import (
    FINISHED_STATES,
    Action,
    Operation,
    OperationState,
    OperationStep,
    ParamValue,
)
from integrations.fleet.patroni.actions import Draft, StepSpec


@dataclass
class StepRecord:
    spec: StepSpec
    state: OperationState = "pending"
    # Monotonic time the step began; a wait step gives up `spec.timeout` after it.
    began: float | None = None

    @property
    def is_call(self) -> bool:
        return not self.spec.do.startswith("wait_")


@dataclass
class OperationRecord:
    id: str
    service: str
    action: Action
    params: dict[str, ParamValue]
    actor: str
    fingerprint: str
    created_at: datetime
    updated_at: datetime
    draft: Draft
    steps: list[StepRecord]
    state: OperationState = "pending"
    error: str | None = None
    cancelled_by: str | None = None
    # PostgreSQL start time of a member before its restart or reinit: the proof it happened.
    start_times: dict[str, str | None] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def current(self) -> StepRecord | None:
        return next((s for s in self.steps if s.state in ("pending", "running")), None)

    def cancellable(self) -> bool:
        """Only while a request to Patroni is still to be sent: a sent one cannot be undone."""
        return any(s.is_call and s.state == "pending" for s in self.steps)

    def to_operation(self) -> Operation:
        return Operation(
            id=self.id,
            action=self.action,
            target=self.service,
            params=dict(self.params),
            state=self.state,
            actor=self.actor,
            created_at=self.created_at,
            updated_at=self.updated_at,
            steps=[
                OperationStep(
                    name=s.spec.name,
                    state=s.state,
                    progress=1.0 if s.state == "succeeded" else 0.0,
                )
                for s in self.steps
            ],
            error=self.error,
            cancelled_by=self.cancelled_by,
        )


def fingerprint(service: str, action: Action, params: Mapping[str, ParamValue]) -> str:
    return json.dumps([service, action, dict(params)], sort_keys=True, separators=(",", ":"))


class OperationStore:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._by_id: dict[str, OperationRecord] = {}
        self._by_key: dict[str, OperationRecord] = {}

    def now(self) -> datetime:
        return self._clock()

    def find(self, operation_id: str) -> OperationRecord | None:
        return self._by_id.get(operation_id)

    def get(self, operation_id: str) -> OperationRecord:
        try:
            return self._by_id[operation_id]
        except KeyError:
            raise OperationNotFound(operation_id) from None

    def replay(self, key: str, print_: str) -> OperationRecord | None:
        """The operation an earlier request with this key started, if it was the same request."""
        record = self._by_key.get(key)
        if record is not None and record.fingerprint != print_:
            raise FleetRequestRejected(
                409,
                "this idempotency key was used for another request",
                code="idempotency_key_reused",
            )
        return record

    def unfinished(self, service: str) -> OperationRecord | None:
        return next(
            (r for r in self._by_id.values() if r.service == service and not r.finished), None
        )

    def add(
        self,
        *,
        key: str,
        service: str,
        action: Action,
        params: Mapping[str, ParamValue],
        actor: str,
        draft: Draft,
        operation_id: str | None = None,
        created_at: datetime | None = None,
    ) -> OperationRecord:
        """A new record; `operation_id` and `created_at` given when a resumed operation
        keeps the id and start time a previous process gave it."""
        now = self._clock()
        record = OperationRecord(
            id=operation_id or f"patroni-{uuid.uuid4().hex[:12]}",
            service=service,
            action=action,
            params=dict(params),
            actor=actor,
            fingerprint=fingerprint(service, action, params),
            created_at=created_at or now,
            updated_at=now,
            draft=draft,
            steps=[StepRecord(spec) for spec in draft.steps],
        )
        self._by_id[record.id] = record
        self._by_key[key] = record
        return record

    def all(self) -> list[OperationRecord]:
        """Newest first."""
        return sorted(self._by_id.values(), key=lambda r: r.created_at, reverse=True)

    def tasks(self) -> list[asyncio.Task[None]]:
        return [r.task for r in self._by_id.values() if r.task is not None and not r.task.done()]
