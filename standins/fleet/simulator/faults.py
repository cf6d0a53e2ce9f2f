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


class FailServices(_Body):
    """Every operation on these services fails at `at_step`, until the faults are cleared
    (a fleet where some targets of a campaign fail, docs/campaigns.md)."""

    services: list[str] = Field(min_length=1, max_length=100_000)
    at_step: int = Field(default=1, ge=1)
    message: str | None = None


class FaultsRequest(_Body):
    """`POST /_sim/faults`: each present key sets that fault; absent keys leave theirs."""

    latency: float | None = Field(default=None, ge=0, le=60)
    error_5xx: Error5xx | None = None
    fail_operation: FailOperation | None = None
    fail_services: FailServices | None = None


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
    failing_services: int = 0


class Faults:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.latency = 0.0
        self.error_until: datetime | None = None
        self.error_status = 503
        self.fail_next: dict[Action, InjectedFailure] = {}
        self.failing: dict[str, InjectedFailure] = {}

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

    def fail_services(
        self, services: list[str], at_step: int = 1, message: str | None = None
    ) -> None:
        """Every operation on `services` fails halfway through step `at_step`."""
        for name in services:
            self.failing[name] = InjectedFailure(at_step=at_step, message=message)

    def clear(self) -> None:
        self.latency = 0.0
        self.error_until = None
        self.fail_next.clear()
        self.failing.clear()

    def failing_status(self) -> int | None:
        """The status every request answers now, or None when requests succeed."""
        if self.error_until is not None and self._clock() < self.error_until:
            return self.error_status
        return None

    def take_failure(self, action: Action, service: str | None = None) -> InjectedFailure | None:
        """The failure the operation about to start carries, if any: a failing service's
        first, else the next one injected for its action."""
        if service is not None and service in self.failing:
            return self.failing[service]
        return self.fail_next.pop(action, None)

    def apply(self, request: FaultsRequest) -> None:
        if request.latency is not None:
            self.inject_latency(request.latency)
        if request.error_5xx is not None:
            self.fail_requests(request.error_5xx.seconds, request.error_5xx.status)
        if request.fail_operation is not None:
            f = request.fail_operation
            self.fail_next_operation(f.action, f.at_step, f.message)
        if request.fail_services is not None:
            g = request.fail_services
            self.fail_services(g.services, g.at_step, g.message)

    def view(self) -> FaultsView:
        return FaultsView(
            latency=self.latency,
            error_5xx_until=self.error_until if self.failing_status() else None,
            error_status=self.error_status,
            fail_operation=[
                FailOperation(action=a, at_step=f.at_step, message=f.message)
                for a, f in self.fail_next.items()
            ],
            failing_services=len(self.failing),
        )
