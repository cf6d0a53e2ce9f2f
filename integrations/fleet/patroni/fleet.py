"""`PatroniFleet`: the `Fleet` port over Patroni's REST API, one service per cluster.

It answers the same calls as `HttpFleet` (services, plans, operations with idempotency
keys, cancel) so the core does not care which backend a service lives on. Operations are
in-memory records of what this process asked Patroni to do (see `operations`), run by a
background task and judged from `/cluster` (see `runner`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType

import httpx
from pydantic import SecretStr

from integrations.fleet.errors import FleetError, FleetRequestRejected, FleetUnavailable
from integrations.fleet.models import (
    Action,
    HistoryEntry,
    Operation,
    OperationState,
    ParamValue,
    Plan,
    Service,
    ServiceList,
    ServiceSummary,
)
from integrations.fleet.paging import MAX_PAGE, page_of
from integrations.fleet.patroni.actions import Draft, blueprint, resumed_draft
from integrations.fleet.patroni.health import health_check
from integrations.fleet.patroni.operations import OperationStore, fingerprint
from integrations.fleet.patroni.rest import PatroniRest
from integrations.fleet.patroni.runner import Runner
from integrations.fleet.patroni.topology import (
    ClusterAnswer,
    PatroniMember,
    history_entries,
    to_service,
)
from integrations.fleet.selector import Selector


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _check_header(name: str, value: str) -> str:
    # Same rule as HttpFleet: these values end up in logs and audit rows.
    if not value or not value.isascii() or not value.isprintable() or len(value) > 255:
        raise ValueError(f"{name} must be 1-255 printable ASCII characters")
    return value


class PatroniFleet:
    def __init__(
        self,
        clusters: Mapping[str, Sequence[str]],
        *,
        username: str | None = None,
        password: str | SecretStr | None = None,
        timeout: float = 5.0,
        action_timeout: float = 60.0,
        region: str = "-",
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
        poll_interval: float = 0.5,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._rest = PatroniRest(
            clusters,
            username=username,
            password=password,
            timeout=timeout,
            action_timeout=action_timeout,
            transport=transport,
            verify=verify,
        )
        self._region = region
        self._store = OperationStore(clock)
        self._runner = Runner(self._rest, clock, poll_interval=poll_interval)
        # Starting is check-then-act (key, concurrent operation, plan); one at a time.
        self._starting = asyncio.Lock()

    # -- services ----------------------------------------------------------------------

    async def get_service(self, name: str) -> Service:
        """`/cluster` and `/history` at once; a history that cannot be read is left out
        (the members' state is what matters), a cluster that cannot be read raises."""

        async def history() -> list[HistoryEntry]:
            try:
                return history_entries(await self._rest.read_history(name))
            except FleetRequestRejected:
                raise
            except FleetError:
                return []

        answer, past = await asyncio.gather(self._rest.read_cluster(name), history())
        return to_service(name, answer, region=self._region, history=past)

    async def list_services(self) -> list[ServiceSummary]:
        """The configured clusters; one that no member answers for is listed as down.

        When no cluster answers at all, this backend is unreachable (its network, its
        credentials' path): that raises, so the overview shows it as unknown rather than
        as a backend whose every cluster is down (docs/backends.md)."""

        async def summary(name: str) -> ServiceSummary | FleetError:
            try:
                health = (await self._rest.read_cluster(name)).health
            except FleetRequestRejected:
                raise  # bad credentials: a configuration error, not a down cluster
            except FleetError as exc:
                return exc
            return ServiceSummary(name=name, kind="postgres", region=self._region, health=health)

        names = sorted(self._rest.clusters)
        answers = await asyncio.gather(*(summary(n) for n in names))
        if all(isinstance(a, FleetError) for a in answers):
            raise FleetUnavailable("; ".join(str(a) for a in answers))
        return [
            a
            if isinstance(a, ServiceSummary)
            else ServiceSummary(name=n, kind="postgres", region=self._region, health="down")
            for n, a in zip(names, answers, strict=True)
        ]

    async def find_services(
        self, selector: Selector, *, cursor: str | None = None, limit: int = MAX_PAGE
    ) -> ServiceList:
        """Filtered here, from the few configured clusters (Patroni has no fleet listing)."""
        return page_of(await self.list_services(), selector, cursor, limit)

    async def health_check(self, service: str) -> tuple[bool, str]:
        """The post-check: `(healthy, what was seen)`, from `/cluster` and each member."""
        return await health_check(self._rest, service)

    async def reload(self, service: str) -> dict[str, str]:
        """`POST /reload` on every member (not an `Action` of the catalog): URL -> answer."""
        answers: dict[str, str] = {}
        for url in self._rest.urls(service):
            try:
                reply = await self._rest.send("POST", url, "/reload")
                answers[url] = reply.text
            except FleetRequestRejected:
                raise
            except FleetError as exc:
                answers[url] = str(exc)
        return answers

    # -- plans and operations ----------------------------------------------------------

    async def plan(
        self, service: str, action: Action, params: Mapping[str, ParamValue], actor: str
    ) -> Plan:
        """The dry run; `allowed` is false with a `reason` when Patroni would refuse."""
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
        """Start the action; the same key and parameters return the same operation.
        Patroni has no notion of approvers: the bot's own audit row names them."""
        _check_header("actor", actor)
        _check_header("idempotency_key", idempotency_key)
        self._rest.urls(service)  # ServiceNotFound before anything else
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
            record.task = asyncio.create_task(self._runner.run(record), name=f"patroni-{record.id}")
        return record.to_operation()

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
        """Watch again an operation a previous process of the bot started (its record was
        in that process's memory): the steps from the confirmed plan, every request to
        Patroni counted as sent, so nothing is asked twice; the waits judge the outcome.
        The same key then replays this record, never a new operation."""
        self._rest.urls(service)  # ServiceNotFound before anything else
        async with self._starting:
            known = self._store.find(operation_id)
            if known is not None:
                return known.to_operation()
            answer = await self._rest.read_cluster(service)
            draft = resumed_draft(answer, action, params, plan)
            record = self._store.add(
                key=idempotency_key,
                service=service,
                action=action,
                params=params,
                actor=actor,
                draft=draft,
                operation_id=operation_id,
                created_at=started_at,
            )
            for step in record.steps:
                if step.is_call:
                    step.state = "succeeded"
            record.state = "running"
            record.task = asyncio.create_task(self._runner.run(record), name=f"patroni-{record.id}")
        return record.to_operation()

    async def get_operation(self, operation_id: str) -> Operation:
        """The operation, with its current wait step checked against `/cluster` now."""
        record = self._store.get(operation_id)
        await self._runner.check_current(record)
        return record.to_operation()

    async def cancel_operation(self, operation_id: str, actor: str) -> Operation:
        """Stops before the next request to Patroni; a request already sent runs its course."""
        _check_header("actor", actor)
        record = self._store.get(operation_id)
        if record.state == "cancelled":
            return record.to_operation()
        if record.finished or not record.cancellable():
            raise FleetRequestRejected(
                409,
                f"{operation_id} cannot be cancelled: "
                + (record.state if record.finished else "its request already went to Patroni"),
                code="not_cancellable",
            )
        record.state, record.cancelled_by = "cancelled", actor
        record.updated_at = self._store.now()
        return record.to_operation()

    async def list_operations(
        self, service: str | None = None, state: OperationState | None = None
    ) -> list[Operation]:
        """Newest first."""
        records = [r for r in self._store.all() if service is None or r.service == service]
        for record in records:
            await self._runner.check_current(record)
        return [r.to_operation() for r in records if state is None or r.state == state]

    # -- lifecycle ---------------------------------------------------------------------

    async def aclose(self) -> None:
        # Stop watching; what was sent to Patroni goes on without us.
        tasks = self._store.tasks()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._rest.aclose()

    async def __aenter__(self) -> PatroniFleet:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- internals ---------------------------------------------------------------------

    async def _blueprint(
        self, service: str, action: Action, params: Mapping[str, ParamValue]
    ) -> tuple[Plan, Draft]:
        answer: ClusterAnswer = await self._rest.read_cluster(service)

        def url_of(member: PatroniMember) -> str | None:
            return self._rest.configured_url(service, member.api_url)

        return blueprint(service, answer, action, params, url_of, self._store.now())
