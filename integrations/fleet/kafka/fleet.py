"""`KafkaFleet`: the `Fleet` port over the Kafka protocol, one service per cluster.

It answers the same calls as `HttpFleet` and `PatroniFleet` (services, plans, operations
with idempotency keys, cancel), so the core does not care which backend a service lives
on. Each cluster has its own admin client on its own worker thread (`admin`). Kafka has
no notion of an operation: `integrations.fleet.stepped` runs the steps a plan drew
(`steps`) and remembers them in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from integrations.fleet.errors import FleetError, FleetRequestRejected, ServiceNotFound
from integrations.fleet.kafka.admin import KafkaAdmin
from integrations.fleet.kafka.plans import THROTTLE_REPLICAS, Draft, blueprint, resumed_draft
from integrations.fleet.kafka.snapshot import read_configs, read_metadata, read_service
from integrations.fleet.kafka.steps import Steps
from integrations.fleet.models import (
    Action,
    Operation,
    OperationState,
    ParamValue,
    Plan,
    Service,
    ServiceSummary,
)
from integrations.fleet.stepped import Operations, Step


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
        self._operations = Operations("kafka", clock, poll_interval=poll_interval)

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

        async def steps() -> list[Step]:
            # Drawn again from the cluster as it is now: what the preview allowed may not be.
            plan, draft = await self._blueprint(service, action, params)
            if not plan.allowed:
                raise FleetRequestRejected(409, plan.reason or "refused", code="operation_refused")
            return Steps(cluster.admin).of(draft)

        return await self._operations.start(
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
        """Watch again an operation a previous process of the bot started: the confirmed
        plan's steps, its requests counted as sent (never sent twice), its waits judged
        from the cluster as usual; a drain's throttle is taken off (docs/backends.md)."""
        _check_header("actor", actor)
        cluster = self._cluster(service)

        async def steps() -> list[Step]:
            meta = await read_metadata(cluster.admin)
            throttled = []
            if action == "drain-broker":
                found = await read_configs(
                    cluster.admin, meta.topic_names, frozenset(THROTTLE_REPLICAS)
                )
                throttled = [t for t, entries in found.items() if any(entries.values())]
            draft = resumed_draft(action, params, plan, meta, throttled, self._reassign_timeout)
            return Steps(cluster.admin).of(draft)

        return await self._operations.adopt(
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
        return self._operations.get(operation_id)

    async def cancel_operation(self, operation_id: str, actor: str) -> Operation:
        """Stops before the first request that changes the cluster; after it, too late."""
        _check_header("actor", actor)
        return self._operations.cancel(operation_id, actor)

    async def list_operations(
        self, service: str | None = None, state: OperationState | None = None
    ) -> list[Operation]:
        """Newest first."""
        return self._operations.list(service, state)

    # -- lifecycle ---------------------------------------------------------------------

    async def aclose(self) -> None:
        # Stop watching; what was sent to the cluster goes on without us.
        await self._operations.aclose()
        for cluster in self._clusters.values():
            await cluster.admin.aclose()
