"""One running operation: an asynchronous state machine over the steps of its blueprint.

It advances lazily: `advance(now)` replays every step boundary that has passed since the
last call, in order, applying each step's effects to the service at that moment. Nothing
runs in the background, so a test that moves the clock sees exactly the same history as
a demo that waits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from integrations.fleet.models import (
    FINISHED_STATES,
    Action,
    Operation,
    OperationState,
    OperationStep,
    ParamValue,
)
from standins.fleet.simulator.draft import PENDING_SECONDS, StepSpec
from standins.fleet.simulator.state import SimService


@dataclass(frozen=True)
class InjectedFailure:
    """Fail the step numbered `at_step` (1-based; past the end means the last) halfway."""

    at_step: int
    message: str | None = None


def _at(start: datetime, seconds: float) -> datetime:
    return start + timedelta(seconds=seconds)


@dataclass
class SimOperation:
    id: str
    service: str
    action: Action
    params: dict[str, ParamValue]
    actor: str
    created_at: datetime
    steps: tuple[StepSpec, ...]
    fingerprint: str
    # Who approved, as the bot said in `X-Approved-By` (tests read it).
    approved_by: tuple[str, ...] = ()
    failure: InjectedFailure | None = None
    state: OperationState = "pending"
    error: str | None = None
    cancelled_by: str | None = None
    updated_at: datetime = field(init=False)
    step_states: list[OperationState] = field(init=False)
    index: int = 0
    step_started: datetime | None = None

    def __post_init__(self) -> None:
        self.updated_at = self.created_at
        self.step_states = ["pending"] * len(self.steps)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    def _fails_here(self) -> bool:
        if self.failure is None:
            return False
        return min(self.failure.at_step, len(self.steps)) == self.index + 1

    def _begin(self, service: SimService, at: datetime) -> None:
        spec = self.steps[self.index]
        self.step_states[self.index] = "running"
        self.step_started = at
        if spec.begin is not None:
            spec.begin(service)

    def _fail(self, service: SimService, at: datetime) -> None:
        spec = self.steps[self.index]
        if spec.member is not None:
            service.get(spec.member).set_down("failed")
        self.step_states[self.index] = "failed"
        self._close("failed", at, from_step=self.index + 1)
        injected = self.failure.message if self.failure else None
        self.error = injected or f"step {self.index + 1} ({spec.name}) failed"

    def _close(self, state: OperationState, at: datetime, *, from_step: int) -> None:
        for i in range(from_step, len(self.steps)):
            self.step_states[i] = "cancelled"
        self.state = state
        self.updated_at = at

    def advance(self, service: SimService, now: datetime) -> None:
        if self.state == "pending":
            start = _at(self.created_at, PENDING_SECONDS)
            if now < start:
                return
            self.state = "running"
            self.updated_at = start
            self._begin(service, start)
        while self.state == "running" and self.step_started is not None:
            spec = self.steps[self.index]
            if self._fails_here():
                failed_at = _at(self.step_started, spec.seconds / 2)
                if now >= failed_at:
                    self._fail(service, failed_at)
                return
            end = _at(self.step_started, spec.seconds)
            if now < end:
                return
            if spec.end is not None:
                spec.end(service)
            self.step_states[self.index] = "succeeded"
            self.updated_at = end
            self.index += 1
            if self.index == len(self.steps):
                self.state = "succeeded"
                return
            self._begin(service, end)

    def cancel(self, service: SimService, now: datetime) -> None:
        """Stop at once; a step under way completes first, so the service stays coherent."""
        self.advance(service, now)
        if self.state == "running":
            spec = self.steps[self.index]
            if spec.end is not None:
                spec.end(service)
            self.step_states[self.index] = "succeeded"
            self._close("cancelled", now, from_step=self.index + 1)
        elif self.state == "pending":
            self._close("cancelled", now, from_step=0)

    def _progress(self, i: int, now: datetime) -> float:
        state = self.step_states[i]
        if state == "succeeded":
            return 1.0
        if state not in ("running", "failed") or self.step_started is None:
            return 0.0
        # A failed step stopped moving when it failed.
        until = self.updated_at if state == "failed" else now
        elapsed = (until - self.step_started).total_seconds()
        return max(0.0, min(1.0, elapsed / self.steps[i].seconds))

    def to_model(self, now: datetime) -> Operation:
        return Operation(
            id=self.id,
            action=self.action,
            target=self.service,
            params=self.params,
            state=self.state,
            actor=self.actor,
            created_at=self.created_at,
            updated_at=self.updated_at,
            steps=[
                OperationStep(
                    name=s.name, state=self.step_states[i], progress=self._progress(i, now)
                )
                for i, s in enumerate(self.steps)
            ],
            error=self.error,
            cancelled_by=self.cancelled_by,
        )
