"""`SentinelFleet`: the `Fleet` port and the action port over Redis Sentinel, one service
per monitored master name.

Plans come from `plans.blueprint` on the state read now; an operation is that plan's
steps, run by `integrations.fleet.stepped` and judged from the servers' own answers:
Sentinel's `GET-MASTER-ADDR-BY-NAME` on every configured Sentinel, and each node's
`INFO replication`. An operation succeeds only when all Sentinels name the new master
and every replica follows it with its link up (docs/backends.md).
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

from integrations.fleet.errors import FleetRequestRejected, ServiceNotFound
from integrations.fleet.models import (
    Action,
    Operation,
    OperationState,
    ParamValue,
    Plan,
    Service,
    ServiceSummary,
)
from integrations.fleet.redis_sentinel.parse import Addr, master_addr, sync_count
from integrations.fleet.redis_sentinel.plans import (
    Draft,
    StepSpec,
    Timeouts,
    blueprint,
    resumed_draft,
)
from integrations.fleet.redis_sentinel.reader import monitored, read_node, read_state
from integrations.fleet.redis_sentinel.state import MasterState
from integrations.fleet.redis_sentinel.wire import Wire
from integrations.fleet.stepped import Operations, Step, StepFailed

# How many masters `list_services` reads at once.
READ_CONCURRENCY = 8


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _check_header(name: str, value: str) -> str:
    # The same rule as every backend: these values end up in logs and audit rows.
    if not value or not value.isascii() or not value.isprintable() or len(value) > 255:
        raise ValueError(f"{name} must be 1-255 printable ASCII characters")
    return value


@dataclass
class _Progress:
    """What one operation learned while it ran: the master Sentinel promoted, the sync
    count of the master before a re-sync."""

    promoted: Addr | None = None
    syncs_before: int | None = None


class SentinelFleet:
    def __init__(
        self,
        wire: Wire,
        *,
        masters: Sequence[str] = (),
        pattern: str | None = None,
        region: str = "-",
        timeouts: Timeouts | None = None,
        poll_interval: float = 0.5,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._wire = wire
        self._masters = list(masters)
        self._pattern = pattern
        self._region = region
        self._timeouts = timeouts or Timeouts()
        self._ops = Operations("sentinel", clock, poll_interval=poll_interval)

    # -- services ----------------------------------------------------------------------

    def _serves(self, name: str) -> bool:
        if self._masters:
            return name in self._masters
        return self._pattern is not None and fnmatch.fnmatchcase(name, self._pattern)

    async def _state(self, name: str) -> MasterState:
        if not self._serves(name):
            raise ServiceNotFound(name)
        return await read_state(self._wire, name)

    async def get_service(self, name: str) -> Service:
        return (await self._state(name)).to_service(region=self._region)

    async def list_services(self) -> list[ServiceSummary]:
        """The configured (or matching) masters; one no Sentinel monitors is down.

        No Sentinel answering raises: the whole set's state is unknown, not down."""
        names = self._masters or [n for n in await monitored(self._wire) if self._serves(n)]
        gate = asyncio.Semaphore(READ_CONCURRENCY)

        async def summary(name: str) -> ServiceSummary:
            async with gate:
                try:
                    health = (await read_state(self._wire, name)).health
                except ServiceNotFound:
                    health = "down"
            return ServiceSummary(name=name, kind="redis", region=self._region, health=health)

        return list(await asyncio.gather(*(summary(n) for n in sorted(names))))

    # -- plans and operations ----------------------------------------------------------

    async def plan(
        self, service: str, action: Action, params: Mapping[str, ParamValue], actor: str
    ) -> Plan:
        """The dry run from the state now; `allowed` is false with the reason when Sentinel
        cannot do it."""
        _check_header("actor", actor)
        plan, _draft = blueprint(await self._state(service), action, params, self._timeouts)
        return plan

    async def start_operation(
        self,
        service: str,
        action: Action,
        params: Mapping[str, ParamValue],
        actor: str,
        idempotency_key: str,
        approved_by: Sequence[str] = (),
    ) -> Operation:
        """Start the action, drawn again from the state now; the same key and parameters
        return the same operation. Sentinel has no approvers: the bot's audit names them."""
        _check_header("actor", actor)
        _check_header("idempotency_key", idempotency_key)
        if not self._serves(service):
            raise ServiceNotFound(service)

        async def steps() -> list[Step]:
            plan, draft = blueprint(await self._state(service), action, params, self._timeouts)
            if not plan.allowed:
                raise FleetRequestRejected(409, plan.reason or "refused", code="operation_refused")
            progress = _Progress()
            return [self._step(service, draft, spec, progress) for spec in draft.steps]

        return await self._ops.start(
            key=idempotency_key,
            service=service,
            action=action,
            params=params,
            actor=actor,
            steps=steps,
        )

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
    ) -> Operation:
        """Watch again an operation a previous process of the bot started: the steps of the
        confirmed plan, its commands counted as sent (never sent twice), its waits judged
        from the set as usual (docs/backends.md)."""
        if not self._serves(service):
            raise ServiceNotFound(service)

        async def steps() -> list[Step]:
            state = await self._state(service)
            draft = resumed_draft(state, action, params, plan, self._timeouts)
            progress = _Progress()
            return [self._step(service, draft, spec, progress) for spec in draft.steps]

        return await self._ops.adopt(
            operation_id,
            key=idempotency_key,
            service=service,
            action=action,
            params=params,
            actor=actor,
            started_at=started_at,
            steps=steps,
        )

    async def get_operation(self, operation_id: str) -> Operation:
        return self._ops.get(operation_id)

    async def cancel_operation(self, operation_id: str, actor: str) -> Operation:
        _check_header("actor", actor)
        return self._ops.cancel(operation_id, actor)

    async def list_operations(
        self, service: str | None = None, state: OperationState | None = None
    ) -> list[Operation]:
        return self._ops.list(service, state)

    # -- lifecycle ---------------------------------------------------------------------

    async def aclose(self) -> None:
        await self._ops.aclose()
        await self._wire.aclose()

    async def __aenter__(self) -> SentinelFleet:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- the steps ---------------------------------------------------------------------

    def _step(self, service: str, draft: Draft, spec: StepSpec, progress: _Progress) -> Step:
        wire = self._wire
        node = spec.node

        async def failover() -> str | None:
            assert draft.sentinel is not None
            try:
                await wire.sentinel(draft.sentinel, "FAILOVER", service)
            except FleetRequestRejected as exc:
                if exc.code == "forbidden":
                    raise
                raise StepFailed(f"Sentinel refused: {exc.reason}") from None  # INPROG, NOGOODSLAVE
            return None

        async def wait_promoted() -> str | None:
            assert draft.sentinel is not None and draft.master is not None
            named = master_addr(
                await wire.sentinel(draft.sentinel, "GET-MASTER-ADDR-BY-NAME", service)
            )
            if named is None or named == draft.master:
                return f"Sentinel {draft.sentinel} still names {draft.master}"
            if named not in draft.pool:
                raise StepFailed(
                    f"Sentinel promoted {named.name}, which the plan did not list "
                    f"({', '.join(a.name for a in draft.pool)})"
                )
            own = (await read_node(wire, named)).replication
            if own is None or own.role != "master":
                return f"{named.name} does not say it is a master yet"
            progress.promoted = named
            return None

        async def wait_settled() -> str | None:
            state = await read_state(wire, service)
            if state.master.addr != progress.promoted:
                return f"Sentinel {state.source} names {state.master.addr}, not {progress.promoted}"
            problems = [
                p
                for p in state.problems()
                if not (draft.tolerate_silent and "does not answer" in p)
                and not p.startswith("quorum")
            ]
            return "; ".join(problems) or None

        async def replicaof() -> str | None:
            assert node is not None and draft.master is not None
            await wire.node(node, "REPLICAOF", draft.master.host, str(draft.master.port))
            return None

        async def kill_link() -> str | None:
            assert node is not None and draft.master is not None
            progress.syncs_before = sync_count(await wire.node(draft.master, "INFO", "stats"))
            await wire.node(node, "CLIENT", "KILL", "TYPE", "master")
            return None

        async def wait_linked() -> str | None:
            assert node is not None and draft.master is not None
            own = (await read_node(wire, node)).replication
            if own is None or own.role != "replica" or own.master != draft.master:
                return f"{node.name} does not replicate from {draft.master} yet"
            if own.syncing or not own.link_up:
                return f"{node.name} is still syncing"
            if progress.syncs_before is not None:
                served = sync_count(await wire.node(draft.master, "INFO", "stats"))
                if served <= progress.syncs_before:
                    return f"{draft.master} has served no new sync yet"
            return None

        run = {
            "failover": failover,
            "wait_promoted": wait_promoted,
            "wait_settled": wait_settled,
            "replicaof": replicaof,
            "kill_link": kill_link,
            "wait_linked": wait_linked,
        }[spec.do]
        return Step(spec.name, run, wait=spec.do.startswith("wait_"), timeout=spec.timeout)
