"""Failure injection: what tests and demos can break, as Python calls or `/_sim` JSON.

A closed port (control plane down) needs nothing here: the test points the client at a
port nobody listens on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from integrations.fleet.models import Action
from standins.fleet.simulator.clock import Clock
from standins.fleet.simulator.operations import InjectedFailure


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Error5xx(_Body):
    seconds: float = Field(gt=0)
    status: int = Field(default=503, ge=500, le=599)


class FailOperation(_Body):
    action: Action
    at_step: int = Field(ge=1)
    message: str | None = None


class FaultsRequest(_Body):
    """`POST /_sim/faults`: each present key sets that fault; absent keys leave theirs."""

    latency: float | None = Field(default=None, ge=0, le=60)
    error_5xx: Error5xx | None = None
    fail_operation: FailOperation | None = None


class DegradeRequest(_Body):
    """`POST /_sim/degrade`: with neither `lag_bytes` nor `healthy`, the member fails."""

    service: str
    member: str | None = None
    lag_bytes: int | None = Field(default=None, ge=0)
    healthy: bool | None = None


class FaultsView(_Body):
    latency: float
    error_5xx_until: datetime | None
    error_status: int
    fail_operation: list[FailOperation]


class Faults:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.latency = 0.0
        self.error_until: datetime | None = None
        self.error_status = 503
        self.fail_next: dict[Action, InjectedFailure] = {}

    def inject_latency(self, seconds: float) -> None:
        """Every API request waits this long (real time) before it is answered."""
        self.latency = seconds

    def fail_requests(self, seconds: float, status: int = 503) -> None:
        """Every API request answers `status` for `seconds` of simulated time."""
        self.error_until = self._clock() + timedelta(seconds=seconds)
        self.error_status = status

    def fail_next_operation(self, action: Action, at_step: int, message: str | None = None) -> None:
        """The next operation of `action` fails halfway through step `at_step` (1-based)."""
        self.fail_next[action] = InjectedFailure(at_step=at_step, message=message)

    def clear(self) -> None:
        self.latency = 0.0
        self.error_until = None
        self.fail_next.clear()

    def failing_status(self) -> int | None:
        """The status every request answers now, or None when requests succeed."""
        if self.error_until is not None and self._clock() < self.error_until:
            return self.error_status
        return None

    def take_failure(self, action: Action) -> InjectedFailure | None:
        return self.fail_next.pop(action, None)

    def apply(self, request: FaultsRequest) -> None:
        if request.latency is not None:
            self.inject_latency(request.latency)
        if request.error_5xx is not None:
            self.fail_requests(request.error_5xx.seconds, request.error_5xx.status)
        if request.fail_operation is not None:
            f = request.fail_operation
            self.fail_next_operation(f.action, f.at_step, f.message)

    def view(self) -> FaultsView:
        return FaultsView(
            latency=self.latency,
            error_5xx_until=self.error_until if self.failing_status() else None,
            error_status=self.error_status,
            fail_operation=[
                FailOperation(action=a, at_step=f.at_step, message=f.message)
                for a, f in self.fail_next.items()
            ],
        )
