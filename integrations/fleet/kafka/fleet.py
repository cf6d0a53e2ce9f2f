"""`KafkaFleet`: the `Fleet` port over the Kafka protocol, one service per cluster.

It answers the same calls as `HttpFleet` and `PatroniFleet` (services, plans, operations
with idempotency keys, cancel), so the core does not care which backend a service lives
on. Each cluster has its own admin client on its own worker thread (`admin`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from integrations.fleet.errors import FleetError, FleetRequestRejected, ServiceNotFound
from integrations.fleet.kafka.admin import KafkaAdmin
from integrations.fleet.kafka.operations import OperationStore, fingerprint
from integrations.fleet.kafka.plans import Draft, blueprint
from integrations.fleet.kafka.runner import Runner
from integrations.fleet.kafka.snapshot import read_service
from integrations.fleet.models import (
    Action,
    Operation,
    OperationState,
    ParamValue,
    Plan,
    Service,
    ServiceSummary,
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _check_header(name: str, value: str) -> str:
    # Same rule as HttpFleet: these values end up in logs and audit rows.
    if not value or not value.isascii() or not value.isprintable() or len(value) > 255:
        raise ValueError(f"{name} must be 1-255 printable ASCII characters")
    return value


@dataclass(frozen=True)
class Cluster:
    admin: KafkaAdmin
    groups: tuple[str, ...] = ()
    expected_brokers: int = 3
    max_lag: int | None = None


class KafkaFleet:
    def __init__(
        self,
        clusters: Mapping[str, Cluster],
        *,
        region: str = "-",
        throttle: int = 50 * 1024 * 1024,
        reassign_timeout: float = 6 * 3600.0,
        poll_interval: float = 1.0,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._clusters = dict(clusters)
        self._region = region
        self._throttle = throttle
        self._reassign_timeout = reassign_timeout
        self._poll = poll_interval
        self._store = OperationStore(clock)
        self._starting = asyncio.Lock()

    def _cluster(self, name: str) -> Cluster:
        try:
            return self._clusters[name]
        except KeyError:
            raise ServiceNotFound(name) from None

    # -- services ----------------------------------------------------------------------

    async def get_service(self, name: str) -> Service:
        cluster = self._cluster(name)
        return await read_service(
            cluster.admin,
            name,
            groups=list(cluster.groups),
            expected_brokers=cluster.expected_brokers,
            max_lag=cluster.max_lag,
            region=self._region,
        )

    async def list_services(self) -> list[ServiceSummary]:
        """The configured clusters; one that does not answer is listed as down."""

        async def summary(name: str) -> ServiceSummary:
            try:
                health = (await self.get_service(name)).health
            except FleetRequestRejected:
                raise  # refused (authorisation): a configuration error, not a down cluster
            except FleetError:
                health = "down"
            return ServiceSummary(name=name, kind="kafka", region=self._region, health=health)

        return list(await asyncio.gather(*(summary(n) for n in sorted(self._clusters))))

    # -- plans and operations ----------------------------------------------------------

    async def _blueprint(
        self, service: str, action: Action, params: Mapping[str, ParamValue]
    ) -> tuple[Plan, Draft]:
        return await blueprint(
            service,
            self._cluster(service).admin,
            action,
            params,
            throttle=self._throttle,
            reassign_timeout=self._reassign_timeout,
        )

    async def plan(
        self, service: str, action: Action, params: Mapping[str, ParamValue], actor: str
    ) -> Plan:
        """The dry run; `allowed` is false with a `reason` when the cluster would refuse."""
        _check_header("actor", actor)
        plan, _draft = await self._blueprint(service, action, params)
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
        """Start the action; the same key and parameters return the same operation. Kafka
        has no notion of approvers: the bot's own audit row names them."""
        _check_header("actor", actor)
        _check_header("idempotency_key", idempotency_key)
        cluster = self._cluster(service)
        async with self._starting:
            earlier = self._store.replay(idempotency_key, fingerprint(service, action, params))
            if earlier is not None:
                return earlier.to_operation()
            busy = self._store.unfinished(service)
            if busy is not None:
                raise FleetRequestRejected(
                    409,
                    f"{service} already has an unfinished operation {busy.id} ({busy.action})",
                    code="operation_in_progress",
                )
            plan, draft = await self._blueprint(service, action, params)
            if not plan.allowed:
                raise FleetRequestRejected(409, plan.reason or "refused", code="operation_refused")
            record = self._store.add(
                key=idempotency_key,
                service=service,
                action=action,
                params=params,
                actor=actor,
                draft=draft,
            )
            runner = Runner(cluster.admin, self._poll)
            record.task = asyncio.create_task(
                runner.run(record, self._store.clock), name=f"kafka-{record.id}"
            )
        return record.to_operation()

    async def get_operation(self, operation_id: str) -> Operation:
        return self._store.get(operation_id).to_operation()

    async def cancel_operation(self, operation_id: str, actor: str) -> Operation:
        """Stops before the first request that changes the cluster; after it, too late."""
        _check_header("actor", actor)
        record = self._store.get(operation_id)
        if record.state == "cancelled":
            return record.to_operation()
        if record.finished or not record.cancellable():
            raise FleetRequestRejected(
                409,
                f"{operation_id} cannot be cancelled: "
                + (record.state if record.finished else "its request already went to Kafka"),
                code="not_cancellable",
            )
        record.state, record.cancelled_by = "cancelled", actor
        record.updated_at = self._store.clock()
        return record.to_operation()

    async def list_operations(
        self, service: str | None = None, state: OperationState | None = None
    ) -> list[Operation]:
        """Newest first."""
        return [
            r.to_operation()
            for r in self._store.all()
            if (service is None or r.service == service) and (state is None or r.state == state)
        ]

    # -- lifecycle ---------------------------------------------------------------------

    async def aclose(self) -> None:
        # Stop watching; what was sent to the cluster goes on without us.
        tasks = self._store.tasks()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for cluster in self._clusters.values():
            await cluster.admin.aclose()
