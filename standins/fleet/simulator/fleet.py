"""The simulated control plane: services, operations, idempotency keys and faults.

Every public method first brings the operations up to the clock, so what a caller reads
is the state at "now". Refusals raise `ApiProblem`, which the app answers as JSON.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable, Sequence

from integrations.fleet.models import (
    Operation,
    OperationState,
    Plan,
    PlanRequest,
    Service,
    ServiceList,
)
from integrations.fleet.paging import MAX_PAGE, InvalidCursor
from integrations.fleet.selector import Selector, SelectorError, parse_term
from standins.fleet.simulator.actions import blueprint
from standins.fleet.simulator.catalog import Catalog, GeneratedCatalog, SeededCatalog
from standins.fleet.simulator.clock import Clock, utcnow
from standins.fleet.simulator.faults import Faults
from standins.fleet.simulator.operations import SimOperation
from standins.fleet.simulator.seed import seed_fleet
from standins.fleet.simulator.state import ApiProblem, SimMember, SimService


def _fingerprint(service: str, request: PlanRequest) -> str:
    canonical = json.dumps(
        {"service": service, "action": request.action, "params": request.params},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class FleetSimulation:
    def __init__(
        self,
        services: Iterable[SimService] = (),
        *,
        catalog: Catalog | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.clock = clock
        self.faults = Faults(clock)
        self.catalog: Catalog = catalog if catalog is not None else SeededCatalog(services)
        self._operations: dict[str, SimOperation] = {}
        self._keys: dict[str, tuple[str, str]] = {}  # idempotency key -> (fingerprint, op id)
        self._ids = itertools.count(1)

    @classmethod
    def seeded(cls, seed: int = 7, size: int = 240, *, clock: Clock = utcnow) -> FleetSimulation:
        return cls(seed_fleet(seed, size), clock=clock)

    @classmethod
    def generated(
        cls, seed: int = 7, size: int = 1_000_000, *, clock: Clock = utcnow
    ) -> FleetSimulation:
        """A fleet of `size` services made from the seed as they are touched."""
        return cls(catalog=GeneratedCatalog(seed, size), clock=clock)

    def tick(self) -> None:
        now = self.clock()
        for op in self._operations.values():
            if not op.finished:
                op.advance(self._known(op.service), now)

    def _known(self, name: str) -> SimService:
        service = self.catalog.get(name)
        assert service is not None  # an operation's service never leaves the fleet
        return service

    def _service(self, name: str) -> SimService:
        service = self.catalog.get(name)
        if service is None:
            raise ApiProblem(404, "service_not_found", f"no service named {name}")
        return service

    def _operation(self, operation_id: str) -> SimOperation:
        op = self._operations.get(operation_id)
        if op is None:
            raise ApiProblem(404, "operation_not_found", f"no operation with id {operation_id}")
        return op

    def names(self) -> list[str]:
        return self.catalog.names()

    def service(self, name: str) -> Service:
        self.tick()
        return self._service(name).to_model()

    def page(
        self, cursor: str | None = None, limit: int = 50, match: Sequence[str] = ()
    ) -> ServiceList:
        return ServiceList.model_validate_json(self.page_json(cursor, limit, match))

    def page_json(
        self, cursor: str | None = None, limit: int = 50, match: Sequence[str] = ()
    ) -> str:
        """One page of the services that match every `match` term, as the JSON answer
        (built from items encoded once: a million-service fleet is listed fast)."""
        if not 1 <= limit <= MAX_PAGE:
            raise ApiProblem(400, "invalid_limit", f"limit must be between 1 and {MAX_PAGE}")
        try:
            terms = tuple(parse_term(t) for t in match)
        except SelectorError as exc:
            raise ApiProblem(400, "invalid_match", str(exc)) from None
        if any(not t.for_fleet for t in terms):
            raise ApiProblem(400, "invalid_match", "incident is not a field of the fleet")
        self.tick()
        try:
            selector = Selector(terms) if terms else None
            items, next_cursor = self.catalog.page(selector, cursor, limit)
        except InvalidCursor:
            raise ApiProblem(400, "invalid_cursor", "cursor is not one this API issued") from None
        return f'{{"items":[{",".join(items)}],"next_cursor":{json.dumps(next_cursor)}}}'

    def plan(self, name: str, request: PlanRequest) -> Plan:
        self.tick()
        return blueprint(self._service(name), request, self.clock()).plan

    def start(
        self,
        name: str,
        request: PlanRequest,
        *,
        actor: str,
        idempotency_key: str,
        approved_by: tuple[str, ...] = (),
    ) -> tuple[Operation, bool]:
        """The operation, and whether it is a replay of an earlier request with this key."""
        self.tick()
        fingerprint = _fingerprint(name, request)
        known = self._keys.get(idempotency_key)
        if known is not None:
            if known[0] != fingerprint:
                raise ApiProblem(
                    409,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used with another request",
                )
            return self._operations[known[1]].to_model(self.clock()), True
        service = self._service(name)
        busy = next(
            (o for o in self._operations.values() if o.service == name and not o.finished), None
        )
        if busy is not None:
            raise ApiProblem(
                409, "operation_in_progress", f"{name} is busy with operation {busy.id}"
            )
        drawn = blueprint(service, request, self.clock())
        if not drawn.plan.allowed:
            raise ApiProblem(409, "operation_refused", drawn.plan.reason or "refused")
        op = SimOperation(
            id=f"op-{next(self._ids):06d}",
            service=name,
            action=request.action,
            params=dict(request.params),
            actor=actor,
            approved_by=approved_by,
            created_at=self.clock(),
            steps=drawn.steps,
            fingerprint=fingerprint,
            failure=self.faults.take_failure(request.action, name),
        )
        self._operations[op.id] = op
        self._keys[idempotency_key] = (fingerprint, op.id)
        return op.to_model(self.clock()), False

    def approved_by(self, operation_id: str) -> tuple[str, ...]:
        """Who approved the operation, as the caller's `X-Approved-By` named them."""
        return self._operation(operation_id).approved_by

    def operation(self, operation_id: str) -> Operation:
        self.tick()
        return self._operation(operation_id).to_model(self.clock())

    def cancel(self, operation_id: str, *, actor: str) -> Operation:
        self.tick()
        op = self._operation(operation_id)
        if op.state == "cancelled":
            return op.to_model(self.clock())
        if op.finished:
            raise ApiProblem(409, "not_cancellable", f"operation {op.id} already {op.state}")
        op.cancel(self._known(op.service), self.clock())
        op.cancelled_by = actor
        return op.to_model(self.clock())

    def operations(
        self, *, service: str | None = None, state: OperationState | None = None
    ) -> list[Operation]:
        """Newest first."""
        self.tick()
        now = self.clock()
        return [
            op.to_model(now)
            for op in reversed(self._operations.values())
            if (service is None or op.service == service) and (state is None or op.state == state)
        ]

    def degrade(
        self,
        service: str,
        member: str | None = None,
        *,
        lag_bytes: int | None = None,
        healthy: bool | None = None,
    ) -> Service:
        """Break a member (by default the last one, a replica where there is one)."""
        self.tick()
        target = self._pick_member(self._service(service), member)
        if lag_bytes is not None:
            target.lag_bytes = lag_bytes
        if healthy is None and lag_bytes is None:
            healthy = False
        if healthy is True:
            target.set_running()
        elif healthy is False:
            target.set_down("failed")
        return self._service(service).to_model()

    def _pick_member(self, service: SimService, member: str | None) -> SimMember:
        if member is None:
            return service.members[-1]
        found = service.member(member)
        if found is None:
            raise ApiProblem(422, "invalid_params", f"{service.name} has no member {member}")
        return found
