"""`HttpFleet`: the `Fleet` port over the control-plane API of `docs/fleet-api.yaml`.

Reads (GET) are retried on connection errors and 5xx with a short jittered backoff
(`integrations.retry`); a POST never is, because it may have started work; its
Idempotency-Key is what makes a retry by the caller safe. Timeouts are not retried
either: the caller has a budget (Slack's thread is waiting) and three timeouts would
spend it three times.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, SecretStr

from integrations.fleet.errors import (
    FleetProtocolError,
    FleetTimeout,
    FleetUnavailable,
    OperationNotFound,
    ServiceNotFound,
)
from integrations.fleet.http.answers import NotFound, error_of, parse, rejection
from integrations.fleet.models import (
    Action,
    Operation,
    OperationList,
    OperationState,
    ParamValue,
    Plan,
    PlanRequest,
    Service,
    ServiceList,
    ServiceSummary,
)
from integrations.fleet.paging import MAX_PAGE
from integrations.fleet.selector import Selector
from integrations.retry import retrying

log = logging.getLogger(__name__)
Model = TypeVar("Model", bound=BaseModel)
# Query parameters; QueryParams when one repeats (`match=` per term).
Params = Mapping[str, str | int] | httpx.QueryParams
PAGE_SIZE = 200
MAX_PAGES = 10_000


def _header_value(name: str, value: str) -> str:
    if not value or not value.isascii() or not value.isprintable():
        raise ValueError(f"{name} must be a non-empty printable ASCII string")
    return value


class HttpFleet:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | SecretStr | None = None,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        retries: int = 2,
        backoff: float = 0.1,
    ) -> None:
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        self._secret = secret or None
        headers = {"Accept": "application/json", "User-Agent": "watchkeeper"}
        if self._secret:
            headers["Authorization"] = f"Bearer {self._secret}"
        self._timeout = timeout
        self._retries = max(0, retries)
        self._backoff = backoff
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, transport=transport, headers=headers
        )

    # -- the Fleet port ----------------------------------------------------------------

    async def get_service(self, name: str) -> Service:
        return await self._call(
            "GET", f"/v1/services/{quote(name, safe='')}", Service, not_found=_service(name)
        )

    async def list_services(self) -> list[ServiceSummary]:
        """Every service, following the cursor to the last page."""
        items: list[ServiceSummary] = []
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            params: dict[str, str | int] = {"limit": PAGE_SIZE}
            if cursor:
                params["cursor"] = cursor
            page = await self._call("GET", "/v1/services", ServiceList, params=params)
            items.extend(page.items)
            if not page.next_cursor:
                return items
            if page.next_cursor in seen:
                raise FleetProtocolError("GET /v1/services: the cursor went round in a loop")
            seen.add(page.next_cursor)
            cursor = page.next_cursor
        raise FleetProtocolError(f"GET /v1/services: more than {MAX_PAGES} pages")

    async def find_services(
        self, selector: Selector, *, cursor: str | None = None, limit: int = MAX_PAGE
    ) -> ServiceList:
        """One page of the services that match the selector's fleet terms, filtered by the
        control plane (`match=` of docs/fleet-api.yaml); `next_cursor` continues it."""
        pairs = [("limit", str(limit)), *(("match", str(t)) for t in selector.fleet_terms)]
        if cursor:
            pairs.append(("cursor", cursor))
        return await self._call(
            "GET", "/v1/services", ServiceList, params=httpx.QueryParams(tuple(pairs))
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> HttpFleet:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- plans and operations ----------------------------------------------------------

    async def plan(
        self, service: str, action: Action, params: Mapping[str, ParamValue], actor: str
    ) -> Plan:
        """The control plane's dry run; `allowed` is false with a `reason` when it refuses."""
        return await self._call(
            "POST",
            f"/v1/services/{quote(service, safe='')}/plans",
            Plan,
            body=PlanRequest(action=action, params=dict(params)),
            headers={"X-Actor": _header_value("actor", actor)},
            not_found=_service(service),
        )

    async def start_operation(
        self,
        service: str,
        action: Action,
        params: Mapping[str, ParamValue],
        actor: str,
        idempotency_key: str,
        approved_by: Sequence[str] = (),
    ) -> Operation:
        """Start the action; the same key and parameters return the same operation. The
        control plane learns who asked (`X-Actor`) and who approved (`X-Approved-By`)."""
        headers = {
            "X-Actor": _header_value("actor", actor),
            "Idempotency-Key": _header_value("idempotency_key", idempotency_key),
        }
        if approved_by:
            headers["X-Approved-By"] = _header_value("approved_by", ",".join(approved_by))
        return await self._call(
            "POST",
            f"/v1/services/{quote(service, safe='')}/operations",
            Operation,
            body=PlanRequest(action=action, params=dict(params)),
            headers=headers,
            not_found=_service(service),
        )

    async def get_operation(self, operation_id: str) -> Operation:
        return await self._call(
            "GET",
            f"/v1/operations/{quote(operation_id, safe='')}",
            Operation,
            not_found=_operation(operation_id),
        )

    async def cancel_operation(self, operation_id: str, actor: str) -> Operation:
        return await self._call(
            "POST",
            f"/v1/operations/{quote(operation_id, safe='')}/cancel",
            Operation,
            headers={"X-Actor": _header_value("actor", actor)},
            not_found=_operation(operation_id),
        )

    async def list_operations(
        self, service: str | None = None, state: OperationState | None = None
    ) -> list[Operation]:
        """Newest first."""
        params = {k: v for k, v in (("service", service), ("state", state)) if v is not None}
        answer = await self._call("GET", "/v1/operations", OperationList, params=params)
        return answer.items

    # -- the wire ----------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "[redacted]") if self._secret else text

    async def _call(
        self,
        method: str,
        path: str,
        model: type[Model],
        *,
        params: Params | None = None,
        body: BaseModel | None = None,
        headers: dict[str, str] | None = None,
        not_found: NotFound | None = None,
    ) -> Model:
        what = f"{method} {path}"
        response = await self._send(method, path, what, params, body, headers)
        if 200 <= response.status_code < 300:
            return parse(what, response, model)
        raise rejection(what, response, not_found, self._scrub)

    async def _send(
        self,
        method: str,
        path: str,
        what: str,
        params: Params | None,
        body: BaseModel | None,
        headers: dict[str, str] | None,
    ) -> httpx.Response:
        """An answer below 500, or the `FleetUnavailable` the last attempt ended in."""
        content = body.model_dump_json().encode() if body is not None else None
        if content is not None:
            headers = {**(headers or {}), "Content-Type": "application/json"}
        policy = retrying(
            retries=self._retries if method == "GET" else 0,
            when=_worth_another_try,
            backoff=self._backoff,
            log=log,
        )
        return await policy(self._once, method, path, what, params, content, headers)

    async def _once(
        self,
        method: str,
        path: str,
        what: str,
        params: Params | None,
        content: bytes | None,
        headers: dict[str, str] | None,
    ) -> httpx.Response:
        try:
            response = await self._http.request(
                method, path, params=params, content=content, headers=headers
            )
        except httpx.TimeoutException:
            raise FleetTimeout(f"{what}: no answer within {self._timeout:g} s") from None
        except httpx.TransportError as exc:
            raise FleetUnavailable(
                f"{what}: cannot reach the fleet API ({type(exc).__name__})"
            ) from None
        if response.status_code >= 500:
            _, reason = error_of(response)
            raise FleetUnavailable(f"{what}: {self._scrub(reason)}")
        return response


def _worth_another_try(failure: BaseException) -> bool:
    # A timeout is not: the caller's budget would be spent once per try.
    return isinstance(failure, FleetUnavailable) and not isinstance(failure, FleetTimeout)


def _service(name: str) -> NotFound:
    return ("service_not_found", lambda: ServiceNotFound(name))


def _operation(operation_id: str) -> NotFound:
    return ("operation_not_found", lambda: OperationNotFound(operation_id))
