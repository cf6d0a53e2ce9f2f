"""The simulator served over HTTP, speaking the contract of `docs/fleet-api.yaml`.

`/v1/...` is the control-plane API (bearer auth when a token is set, faults applied);
`/_sim/...` is the simulator's own control panel, never faulted and never authenticated,
because it only ever listens on loopback.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar, get_args

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations.fleet.models import ApiError, OperationList, OperationState, PlanRequest
from standins.fleet.simulator.faults import DegradeRequest, FaultsRequest
from standins.fleet.simulator.fleet import FleetSimulation
from standins.fleet.simulator.state import ApiProblem

Endpoint = Callable[[Request], Awaitable[Response]]
Body = TypeVar("Body", bound=BaseModel)
MAX_HEADER = 255
MAX_MATCH = 20


def _json(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(model.model_dump(mode="json"), status_code=status, headers=headers)


def problem(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    return _json(ApiError(error=code, message=message), status, headers)


async def _body(request: Request, model: type[Body]) -> Body:
    try:
        raw = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise ApiProblem(400, "bad_request", "the body is not JSON") from None
    if not isinstance(raw, dict):
        raise ApiProblem(400, "bad_request", "the body must be a JSON object")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        # Name the fields, never echo the values back.
        where = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise ApiProblem(422, "invalid_params", where) from None


def _header(request: Request, name: str, code: str) -> str:
    value = request.headers.get(name, "").strip()
    if not value or len(value) > MAX_HEADER:
        raise ApiProblem(400, code, f"the {name} header is required (1-{MAX_HEADER} characters)")
    return value


def _authorized(request: Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


class _Api:
    def __init__(self, sim: FleetSimulation, token: str | None) -> None:
        self.sim = sim
        self.token = token

    def guarded(self, handler: Endpoint) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            if self.sim.faults.latency:
                # The request has arrived whole and only the answer is late: a caller that
                # gives up (or dies) meanwhile does not stop the call taking effect.
                await request.body()
                await asyncio.sleep(self.sim.faults.latency)
            failing = self.sim.faults.failing_status()
            if failing is not None:
                return problem(failing, "unavailable", "the control plane is unavailable")
            if self.token is not None and not _authorized(request, self.token):
                return problem(
                    401,
                    "unauthorized",
                    "a valid bearer token is required",
                    {"WWW-Authenticate": "Bearer"},
                )
            return await handler(request)

        return endpoint

    async def list_services(self, request: Request) -> Response:
        try:
            limit = int(request.query_params.get("limit", "50"))
        except ValueError:
            raise ApiProblem(400, "invalid_limit", "limit must be an integer") from None
        match = request.query_params.getlist("match")
        if len(match) > MAX_MATCH:
            raise ApiProblem(400, "invalid_match", f"at most {MAX_MATCH} match terms")
        page = self.sim.page_json(request.query_params.get("cursor") or None, limit, match)
        return Response(page, media_type="application/json")

    async def get_service(self, request: Request) -> Response:
        return _json(self.sim.service(request.path_params["name"]))

    async def plan(self, request: Request) -> Response:
        _header(request, "X-Actor", "missing_actor")
        body = await _body(request, PlanRequest)
        return _json(self.sim.plan(request.path_params["name"], body))

    async def start_operation(self, request: Request) -> Response:
        actor = _header(request, "X-Actor", "missing_actor")
        key = _header(request, "Idempotency-Key", "missing_idempotency_key")
        body = await _body(request, PlanRequest)
        approvers = request.headers.get("X-Approved-By", "")
        op, replayed = self.sim.start(
            request.path_params["name"],
            body,
            actor=actor,
            idempotency_key=key,
            approved_by=tuple(a for a in approvers.split(",") if a),
        )
        headers = {"Location": f"/v1/operations/{op.id}"}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return _json(op, 202, headers)

    async def get_operation(self, request: Request) -> Response:
        return _json(self.sim.operation(request.path_params["id"]))

    async def cancel_operation(self, request: Request) -> Response:
        actor = _header(request, "X-Actor", "missing_actor")
        return _json(self.sim.cancel(request.path_params["id"], actor=actor))

    async def list_operations(self, request: Request) -> Response:
        state = request.query_params.get("state") or None
        states: tuple[OperationState, ...] = get_args(OperationState)
        if state is not None and state not in states:
            raise ApiProblem(400, "invalid_state", f"state must be one of {', '.join(states)}")
        items = self.sim.operations(
            service=request.query_params.get("service") or None,
            state=next((s for s in states if s == state), None),
        )
        return _json(OperationList(items=items))

    async def get_faults(self, request: Request) -> Response:
        return _json(self.sim.faults.view())

    async def set_faults(self, request: Request) -> Response:
        self.sim.faults.apply(await _body(request, FaultsRequest))
        return _json(self.sim.faults.view())

    async def clear_faults(self, request: Request) -> Response:
        self.sim.faults.clear()
        return _json(self.sim.faults.view())

    async def degrade(self, request: Request) -> Response:
        body = await _body(request, DegradeRequest)
        service = self.sim.degrade(
            body.service, body.member, lag_bytes=body.lag_bytes, healthy=body.healthy
        )
        return _json(service)

    def routes(self) -> list[Route]:
        api = self.guarded
        return [
            Route("/v1/services", api(self.list_services), methods=["GET"]),
            Route("/v1/services/{name}", api(self.get_service), methods=["GET"]),
            Route("/v1/services/{name}/plans", api(self.plan), methods=["POST"]),
            Route("/v1/services/{name}/operations", api(self.start_operation), methods=["POST"]),
            Route("/v1/operations", api(self.list_operations), methods=["GET"]),
            Route("/v1/operations/{id}", api(self.get_operation), methods=["GET"]),
            Route("/v1/operations/{id}/cancel", api(self.cancel_operation), methods=["POST"]),
            Route("/_sim/faults", self.get_faults, methods=["GET"]),
            Route("/_sim/faults", self.set_faults, methods=["POST"]),
            Route("/_sim/faults", self.clear_faults, methods=["DELETE"]),
            Route("/_sim/degrade", self.degrade, methods=["POST"]),
        ]


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    return problem(exc.status, exc.code, exc.message)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = "not_found" if exc.status_code == 404 else f"http_{exc.status_code}"
    return problem(exc.status_code, code, exc.detail, dict(exc.headers or {}))


def create_app(fleet: FleetSimulation, token: str | None = None) -> Starlette:
    return Starlette(
        routes=_Api(fleet, token).routes(),
        exception_handlers={ApiProblem: _on_problem, HTTPException: _on_http},
    )
