"""The operations this backend started, kept in memory, with their idempotency keys.

Kafka has no notion of an operation either: the backend records what it asked, as steps,
and `runner` decides the outcome from the cluster. After a bot restart the core
reconciles from its own database; an unknown id here is `OperationNotFound`.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from integrations.fleet.errors import FleetRequestRejected, OperationNotFound
from integrations.fleet.kafka.plans import Draft, StepSpec
from integrations.fleet.models import (
    FINISHED_STATES,
    Action,
    Operation,
    OperationState,
    OperationStep,
    ParamValue,
)


@dataclass
class StepRecord:
    spec: StepSpec
    state: OperationState = "pending"
    began: float | None = None  # monotonic

    @property
    def is_call(self) -> bool:
        return not self.spec.do.startswith("wait_")


@dataclass
class OperationRecord:
    id: str
    key: str
    service: str
    action: Action
    params: dict[str, ParamValue]
    actor: str
    created_at: datetime
    updated_at: datetime
    draft: Draft
    steps: list[StepRecord]
    state: OperationState = "pending"
    error: str | None = None
    cancelled_by: str | None = None
    task: asyncio.Task[None] | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.service, self.action, self.params)

    def cancellable(self) -> bool:
        """Only before the first request that changes the cluster has been sent."""
        first = next((s for s in self.steps if s.is_call), None)
        return first is not None and first.state == "pending"

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
        self.clock = clock
        self._by_id: dict[str, OperationRecord] = {}

    def get(self, operation_id: str) -> OperationRecord:
        try:
            return self._by_id[operation_id]
        except KeyError:
            raise OperationNotFound(operation_id) from None

    def replay(self, key: str, print_: str) -> OperationRecord | None:
        record = next((r for r in self._by_id.values() if r.key == key), None)
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
    ) -> OperationRecord:
        now = self.clock()
        record = OperationRecord(
            id=f"kafka-{uuid.uuid4().hex[:12]}",
            key=key,
            service=service,
            action=action,
            params=dict(params),
            actor=actor,
            created_at=now,
            updated_at=now,
            draft=draft,
            steps=[StepRecord(spec) for spec in draft.steps],
        )
        self._by_id[record.id] = record
        return record

    def all(self) -> list[OperationRecord]:
        """Newest first."""
        return sorted(self._by_id.values(), key=lambda r: r.created_at, reverse=True)

    def tasks(self) -> list[asyncio.Task[None]]:
        return [r.task for r in self._by_id.values() if r.task is not None and not r.task.done()]
