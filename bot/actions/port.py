"""What the actions need from a fleet backend, beyond the read-only `bot.fleet.Fleet` port.

`HttpFleet` (and so the simulator) implements it; a backend that does not is routed to,
but every action on its services is refused with a clear reason rather than guessed at.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.fleet import FleetRouter
from integrations.fleet.errors import FleetError
from integrations.fleet.models import (
    Action,
    Operation,
    OperationState,
    ParamValue,
    Plan,
    Service,
)


@runtime_checkable
class ActionFleet(Protocol):
    async def get_service(self, name: str) -> Service: ...

    async def plan(
        self, service: str, action: Action, params: Mapping[str, ParamValue], actor: str
    ) -> Plan: ...

    async def start_operation(
        self,
        service: str,
        action: Action,
        params: Mapping[str, ParamValue],
        actor: str,
        idempotency_key: str,
        approved_by: Sequence[str] = (),
    ) -> Operation: ...

    async def get_operation(self, operation_id: str) -> Operation: ...

    async def cancel_operation(self, operation_id: str, actor: str) -> Operation: ...

    async def list_operations(
        self, service: str | None = None, state: OperationState | None = None
    ) -> list[Operation]: ...


@runtime_checkable
class ResumableFleet(Protocol):
    """A backend whose operations live in the bot's process (Patroni has no notion of an
    operation): after a restart it no longer knows them, but can watch one again from
    the request's durable record without sending anything (docs/backends.md)."""

    async def resume_operation(
        self,
        operation_id: str,
        service: str,
        action: Action,
        params: Mapping[str, ParamValue],
        actor: str,
        plan: Plan,
        *,
        idempotency_key: str,
        started_at: datetime,
    ) -> Operation: ...


class NoActionBackend(FleetError):
    """No backend serves the target, or the one that does cannot run actions."""


def action_backend(router: FleetRouter, target: str) -> ActionFleet:
    backend = router.backend_for(target)
    if backend is None:
        raise NoActionBackend(f"no fleet backend serves {target}")
    if not isinstance(backend, ActionFleet):
        raise NoActionBackend(f"the fleet backend of {target} cannot run actions")
    return backend


def plan_digest(plan: Plan) -> str:
    """What the requester agreed to: the steps and the end state, not the moving numbers.

    `before` values and warnings (replication lag, estimates) change from one poll to the
    next; which member is promoted, restarted or replaced does not, unless the fleet did.
    """
    material = {
        "action": plan.action,
        "target": plan.target,
        "params": plan.params,
        "allowed": plan.allowed,
        "steps": plan.steps,
        "changes": sorted((c.member or "", c.attribute, str(c.after)) for c in plan.changes),
    }
    text = json.dumps(material, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
