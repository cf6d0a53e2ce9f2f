"""`GET /readyz` and `GET /metrics`.

/readyz answers 200 when the heartbeat finds nothing wrong and 503 with the problems
otherwise, so an outside uptime check sees what the ops channel sees. A load balancer
wants less: with `?scope=replica` only what stops *this* replica from serving counts
(its database and schema). Taking every replica out of rotation because Slack is down or
Alertmanager went quiet would also stop the pages that are still arriving.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.http_body import bodiless
from bot.monitoring.health import DATABASE, Health, assess
from bot.monitoring.metrics import CONTENT_TYPE
from bot.monitoring.recent import RecentHealth
from bot.runtime import Runtime
from integrations.webhooks import any_equal

Endpoint = Callable[[Request], Awaitable[Response]]
Assess = Callable[[Runtime, datetime], Awaitable[Health]]
# Scrapes closer together than this reuse the gauges of the last look at the database.
MIN_LOOK_SECONDS = 2.0
# Readiness probes closer together than this share one look at the database.
READY_LOOK_SECONDS = 1.0


def monitoring_routes(
    rt: Runtime, *, look: Assess = assess, clock: Callable[[], float] = time.monotonic
) -> list[Route]:
    """`look` and `clock` are seams for tests (count the database checks, hold time)."""
    limit = rt.config.server.max_body_bytes
    recent = RecentHealth(lambda: look(rt, rt.started_at), seconds=READY_LOOK_SECONDS, clock=clock)
    return [
        Route("/readyz", bodiless(readyz(recent), limit), methods=["GET"]),
        Route("/metrics", bodiless(metrics(rt), limit), methods=["GET"]),
    ]


def readyz(recent: RecentHealth) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        health = await recent.get()
        replica_only = request.query_params.get("scope") == "replica"
        problems = [p for p in health.problems if not replica_only or p.key == DATABASE]
        body: dict[str, Any] = {"status": "unavailable" if problems else "ok"}
        body["database"] = health.database
        if health.schema is not None:
            body["schema"] = health.schema
        if health.schema != health.expected_schema:
            body["expected"] = health.expected_schema
        body["problems"] = [p.as_json() for p in problems]
        return JSONResponse(body, status_code=503 if problems else 200)

    return endpoint


def _bearer(request: Request) -> str | None:
    scheme, _, credentials = request.headers.get("authorization", "")[:4096].partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else None


def metrics(rt: Runtime) -> Endpoint:
    token = rt.config.monitoring.metrics_token
    looked_at = [float("-inf")]

    async def endpoint(request: Request) -> Response:
        if token is not None:
            given = _bearer(request)
            if given is None or not any_equal([token.get_secret_value()], [given]):
                return PlainTextResponse(
                    "missing or invalid bearer token",
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )
        if time.monotonic() - looked_at[0] >= MIN_LOOK_SECONDS:
            health = await assess(rt, rt.started_at)
            rt.metrics.show(health.snapshot, health.problems, rt.scheduler.is_leader)
            looked_at[0] = time.monotonic()
        return Response(rt.metrics.render(), media_type=CONTENT_TYPE)

    return endpoint
