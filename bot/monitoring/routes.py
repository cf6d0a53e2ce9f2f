"""`GET /readyz`, `GET /status` and `GET /metrics`.

/readyz is for the load balancer: 200 when *this* replica can serve (its database
answers and its schema is the one shipped), 503 otherwise. Nothing else counts: taking
every replica out of rotation because Slack is down or Alertmanager went quiet would also
stop the pages that are still arriving, exactly when they matter.

/status is for people and uptime checks: everything the heartbeat knows (outbox depth and
age, the scheduler leader, intake silence, the last audit checkpoint, paused automation)
and whether this replica reaches Slack and each fleet backend (from its own recent calls,
bot.monitoring.reachability), with the named problems; always 200 while the process
answers, `"status": "degraded"` when anything is wrong. The same facts are in /metrics
for alerting.
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
from bot.monitoring.reachability import reachability_json, unreachable_problems
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
        Route("/status", bodiless(status(rt, recent), limit), methods=["GET"]),
        Route("/metrics", bodiless(metrics(rt), limit), methods=["GET"]),
    ]


def _database(health: Health) -> dict[str, Any]:
    body: dict[str, Any] = {"database": health.database}
    if health.schema is not None:
        body["schema"] = health.schema
    if health.schema != health.expected_schema:
        body["expected"] = health.expected_schema
    return body


def readyz(recent: RecentHealth) -> Endpoint:
    # `?scope=replica`, the older spelling of what /readyz now always means, is accepted.
    async def endpoint(_: Request) -> Response:
        health = await recent.get()
        problems = [p for p in health.problems if p.key == DATABASE]
        body = {"status": "unavailable" if problems else "ok", **_database(health)}
        body["problems"] = [p.as_json() for p in problems]
        return JSONResponse(body, status_code=503 if problems else 200)

    return endpoint


def status(rt: Runtime, recent: RecentHealth) -> Endpoint:
    async def endpoint(_: Request) -> Response:
        health = await recent.get()
        problems = [p.as_json() for p in health.problems]
        problems += [p.as_json() for p in unreachable_problems(rt.metrics.reachability)]
        body = {"status": "degraded" if problems else "ok", **_database(health)}
        body["problems"] = problems
        body["reachability"] = reachability_json(rt.metrics.reachability)
        body["scheduler_leader_here"] = rt.scheduler.is_leader
        snap = health.snapshot
        if snap is not None:
            body["outbox"] = {
                "depth": snap.outbox_depth,
                "oldest_pending_seconds": round(snap.outbox_oldest_age, 1),
            }
            body["incidents_open"] = snap.incidents_open
            body["scheduler_lease_expires_at"] = _iso(snap.lease_expires_at)
            body["intake_last_delivery"] = {s: _iso(at) for s, at in snap.last_delivery.items()}
            body["automation_paused_since"] = _iso(snap.automation_paused_since)
        body["audit_checkpoint_current_at"] = _iso(rt.metrics.checkpoint_current_at)
        return JSONResponse(body)

    return endpoint


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


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
