"""Operations for a backend whose servers have no notion of one (Sentinel, ...): a list
of steps this process runs in the background and remembers in memory, with the fleet
API's idempotency keys and its one-operation-per-service rule.

A step is a call (send one command; it is done when the server accepted it) or a wait
(a check polled until it holds or its timeout passes). A call that times out is not a
failure: the server may well be doing the work, so the wait after it decides. The
records live as long as the process: after a restart the core reconciles from its own
database (docs/actions.md), and an unknown id is `OperationNotFound`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from integrations.fleet.errors import (
    FleetError,
    FleetRequestRejected,
    FleetTimeout,
    OperationNotFound,
)
from integrations.fleet.models import (
    FINISHED_STATES,
    Action,
    Operation,
    OperationState,
    OperationStep,
    ParamValue,
)

log = logging.getLogger(__name__)


class StepFailed(Exception):
    """The step saw that the operation cannot succeed; the message says why."""


@dataclass(frozen=True)
class Step:
    name: str
    # A call returns None once sent; a wait returns None when its condition holds, else
    # what is still missing (the error when it times out).
    run: Callable[[], Awaitable[str | None]]
    wait: bool = False
    timeout: float = 0.0
    # Runs even after an earlier step failed (taking a throttle off again); its own
    # failure is logged and shown on the step, the operation's error stays the first.
    always: bool = False


@dataclass
class _StepState:
    step: Step
    state: OperationState = "pending"


@dataclass
class Record:
    id: str
    service: str
    action: Action
    params: dict[str, ParamValue]
    actor: str
    key_print: str
    created_at: datetime
    updated_at: datetime
    steps: list[_StepState]
    state: OperationState = "pending"
    error: str | None = None
    cancelled_by: str | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    def cancellable(self) -> bool:
        """Only while no command has gone out: a sent one cannot be taken back."""
        return all(s.state == "pending" for s in self.steps if not s.step.wait)

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
                    name=s.step.name,
                    state=s.state,
                    progress=1.0 if s.state == "succeeded" else 0.0,
                )
                for s in self.steps
            ],
            error=self.error,
            cancelled_by=self.cancelled_by,
        )


def _print(service: str, action: Action, params: Mapping[str, ParamValue]) -> str:
    return json.dumps([service, action, dict(params)], sort_keys=True, separators=(",", ":"))


class Operations:
    """The operations one backend started; `start` is check-then-act, so it is serialized."""

    def __init__(
        self, prefix: str, clock: Callable[[], datetime], *, poll_interval: float = 0.5
    ) -> None:
        self._prefix = prefix
        self._clock = clock
        self._poll = poll_interval
        self._by_id: dict[str, Record] = {}
        self._by_key: dict[str, Record] = {}
        self._starting = asyncio.Lock()

    async def start(
        self,
        *,
        key: str,
        service: str,
        action: Action,
        params: Mapping[str, ParamValue],
        actor: str,
        steps: Callable[[], Awaitable[Sequence[Step]]],
    ) -> Operation:
        """Start the steps `steps()` draws now (it raises to refuse); the same key and
        request return the first operation, another request under that key is a 409."""
        key_print = _print(service, action, params)
        async with self._starting:
            earlier = self._by_key.get(key)
            if earlier is not None:
                if earlier.key_print != key_print:
                    raise FleetRequestRejected(
                        409,
                        "this idempotency key was used for another request",
                        code="idempotency_key_reused",
                    )
                return earlier.to_operation()
            busy = next(
                (r for r in self._by_id.values() if r.service == service and not r.finished), None
            )
            if busy is not None:
                raise FleetRequestRejected(
                    409,
                    f"{service} already has an unfinished operation {busy.id} ({busy.action})",
                    code="operation_in_progress",
                )
            drawn = await steps()
            record = self._add(key, key_print, service, action, params, actor, drawn)
        return record.to_operation()

    async def adopt(
        self,
        operation_id: str,
        *,
        key: str,
        service: str,
        action: Action,
        params: Mapping[str, ParamValue],
        actor: str,
        started_at: datetime,
        steps: Callable[[], Awaitable[Sequence[Step]]],
    ) -> Operation:
        """Watch again an operation a previous process started (its record died with it):
        its calls count as sent and are never sent again; its waits judge the outcome.
        The same key then replays this record, never a new operation."""
        async with self._starting:
            known = self._by_id.get(operation_id)
            if known is not None:
                return known.to_operation()
            drawn = await steps()
            record = self._add(
                key, _print(service, action, params), service, action, params, actor, drawn,
                operation_id=operation_id, created_at=started_at,
            )  # fmt: skip
        return record.to_operation()

    def _add(
        self,
        key: str,
        key_print: str,
        service: str,
        action: Action,
        params: Mapping[str, ParamValue],
        actor: str,
        drawn: Sequence[Step],
        *,
        operation_id: str | None = None,
        created_at: datetime | None = None,
    ) -> Record:
        now = self._clock()
        record = Record(
            id=operation_id or f"{self._prefix}-{uuid.uuid4().hex[:12]}",
            service=service,
            action=action,
            params=dict(params),
            actor=actor,
            key_print=key_print,
            created_at=created_at or now,
            updated_at=now,
            steps=[_StepState(s) for s in drawn],
        )
        if operation_id is not None:  # adopted: what it sent was sent
            for state in record.steps:
                # An `always` step is a clean-up safe to repeat: it runs again.
                if not state.step.wait and not state.step.always:
                    state.state = "succeeded"
            record.state = "running"
        self._by_id[record.id] = record
        self._by_key[key] = record
        record.task = asyncio.create_task(self._run(record), name=record.id)
        return record

    def get(self, operation_id: str) -> Operation:
        return self._record(operation_id).to_operation()

    def list(self, service: str | None, state: OperationState | None) -> list[Operation]:
        """Newest first."""
        records = sorted(self._by_id.values(), key=lambda r: r.created_at, reverse=True)
        return [
            r.to_operation()
            for r in records
            if (service is None or r.service == service) and (state is None or r.state == state)
        ]

    def cancel(self, operation_id: str, actor: str) -> Operation:
        record = self._record(operation_id)
        if record.state != "cancelled":
            if record.finished or not record.cancellable():
                why = record.state if record.finished else "its command was already sent"
                raise FleetRequestRejected(
                    409, f"{operation_id} cannot be cancelled: {why}", code="not_cancellable"
                )
            record.state, record.cancelled_by = "cancelled", actor
            self._touch(record)
        return record.to_operation()

    async def aclose(self) -> None:
        # Stop watching; what was sent goes on without us.
        tasks = [r.task for r in self._by_id.values() if r.task and not r.task.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- internals ---------------------------------------------------------------------

    def _record(self, operation_id: str) -> Record:
        try:
            return self._by_id[operation_id]
        except KeyError:
            raise OperationNotFound(operation_id) from None

    def _touch(self, record: Record) -> None:
        record.updated_at = self._clock()

    async def _run(self, record: Record) -> None:
        current: _StepState | None = None
        try:
            for current in record.steps:
                if record.state == "cancelled":
                    break
                if current.state == "succeeded":  # sent by the process that started it
                    continue
                current.state, record.state = "running", "running"
                self._touch(record)
                if current.step.wait:
                    await self._until(current.step)
                else:
                    await self._send(current.step)
                current.state = "succeeded"
                self._touch(record)
            for rest in record.steps:
                if rest.state == "pending":
                    rest.state = "cancelled"
            if record.state != "cancelled":
                record.state = "succeeded"
        except (StepFailed, FleetError) as exc:
            self._fail(record, current, str(exc))
            await self._always(record)
        except Exception as exc:  # a bug must not leave the operation running forever
            log.exception("operation %s", record.id)
            self._fail(record, current, f"unexpected error ({type(exc).__name__})")
            await self._always(record)
        self._touch(record)

    async def _always(self, record: Record) -> None:
        """After a failure: the pending steps marked `always` (the others stay pending)."""
        for rest in record.steps:
            if rest.state != "pending" or not rest.step.always:
                continue
            rest.state = "running"
            self._touch(record)
            try:
                await (self._until(rest.step) if rest.step.wait else self._send(rest.step))
            except Exception:  # the first failure is the operation's; this one is logged
                log.exception("operation %s: %s", record.id, rest.step.name)
                rest.state = "failed"
            else:
                rest.state = "succeeded"

    @staticmethod
    async def _send(step: Step) -> None:
        try:
            await step.run()
        except FleetTimeout as exc:
            # Sent, but no answer in time: the wait that follows finds out what happened.
            log.warning("%s: %s; the next wait decides", step.name, exc)

    async def _until(self, step: Step) -> None:
        deadline = time.monotonic() + step.timeout
        last = "no answer yet"
        while True:
            try:
                missing = await step.run()
                if missing is None:
                    return
                last = missing
            except FleetRequestRejected:
                raise
            except StepFailed:
                raise
            except FleetError as exc:
                last = str(exc)
            if time.monotonic() >= deadline:
                raise StepFailed(f"{step.name}: not done within {step.timeout:g} s ({last})")
            await asyncio.sleep(self._poll)

    def _fail(self, record: Record, current: _StepState | None, error: str) -> None:
        if current is not None and current.state == "running":
            current.state = "failed"
        record.state, record.error = "failed", error
