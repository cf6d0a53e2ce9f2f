"""`POST /hooks/<source>`: webhook deliveries in, pages stored, 2xx out.

Every endpoint does the same steps in the same order, and each step has one answer:

    source configured and enabled?           no  → 404
    body within the size limit?              no  → 413   (before anything parses it)
    credentials of that source?              no  → 401
    payload parses into a whole batch?       no  → 400 (not JSON) / 422 (wrong shape)
    sink stores the batch (durably)?         no  → 503
                                             yes → 200 {"accepted": n, "new": k}

A page that does not fit its storage limits (`integrations.pages.PageLimits`) is refused
on its own: the others of its delivery are stored, and the 200 lists it under "refused"
with its index, field and reason (a sender that retries gets the same answer, never a
503). Only when no page of a delivery can be accepted is the answer a 422 naming the field.

Input never produces a 500: a sender's mistake is a 4xx with the reason as JSON, and our
own trouble (storage down) is a 503, which Alertmanager and PagerDuty both retry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.http_body import BodyTooLarge, read_limited_body
from bot.intake.auth import authorized, pagerduty_authorized
from bot.intake.config import IntakeConfig
from bot.monitoring import intake as monitoring
from bot.runtime import Runtime
from integrations import alertmanager, generic, grafana, pagerduty
from integrations.pages import PageBatch
from integrations.webhooks import InvalidPayload, bounded_key

log = logging.getLogger(__name__)

# The answer's "error" codes; tests and senders' logs can rely on them.
NOT_CONFIGURED = "not_configured"
TOO_LARGE = "body_too_large"
UNAUTHORIZED = "unauthorized"
INVALID = "invalid_payload"
# A parser raised something other than InvalidPayload: a bug of ours, answered 400 so
# the sender is not told to retry forever, and logged with its traceback.
UNREADABLE = "unreadable_payload"
STORAGE = "storage_unavailable"

Check = Callable[[Headers, bytes, float], bool]
Parse = Callable[[bytes, Headers], PageBatch]


@dataclass(frozen=True)
class Source:
    name: str
    check: Check
    parse: Parse


def _error(status: int, code: str, reason: str, *, field: str = "") -> Response:
    body = {"error": code, "reason": reason} | ({"field": field} if field else {})
    return JSONResponse(body, status_code=status)


def _alertmanager(config: IntakeConfig, _: Request) -> Source | None:
    cfg = config.alertmanager
    if cfg is None or not cfg.enabled:
        return None
    return Source(
        "alertmanager",
        lambda headers, body, now: authorized(headers, body, cfg.auth, now),
        lambda body, _headers: alertmanager.parse_webhook(body),
    )


def _pagerduty_parse(body: bytes, headers: Headers) -> PageBatch:
    # X-Webhook-Id is the same on every attempt of one delivery: the sink's replay key.
    raw = headers.get("x-webhook-id", "").strip()
    return pagerduty.parse_webhook(body, delivery_id=bounded_key(raw) if raw else None)


def _pagerduty(config: IntakeConfig, _: Request) -> Source | None:
    cfg = config.pagerduty
    if cfg is None or not cfg.enabled:
        return None
    secrets = [s.get_secret_value() for s in cfg.secrets]
    return Source(
        "pagerduty",
        lambda headers, body, _now: pagerduty_authorized(headers, body, secrets),
        _pagerduty_parse,
    )


def _grafana(config: IntakeConfig, _: Request) -> Source | None:
    cfg = config.grafana
    if cfg is None or not cfg.enabled:
        return None
    return Source(
        "grafana",
        lambda headers, body, now: authorized(headers, body, cfg.auth, now),
        lambda body, _headers: grafana.parse_webhook(body),
    )


def _generic(config: IntakeConfig, request: Request) -> Source | None:
    name = str(request.path_params.get("name", ""))
    cfg = config.generic.get(name)
    if cfg is None or not cfg.enabled:
        return None
    return Source(
        generic.source_name(name),
        lambda headers, body, now: authorized(headers, body, cfg.auth, now),
        lambda body, _headers: generic.parse_document(body, name=name, mapping=cfg.mapping),
    )


Resolve = Callable[[IntakeConfig, Request], Source | None]


def _endpoint(rt: Runtime, resolve: Resolve) -> Callable[[Request], Awaitable[Response]]:
    async def hook(request: Request) -> Response:
        config = rt.config.intake
        source = resolve(config, request)
        if source is None:
            return _error(404, NOT_CONFIGURED, "this intake source is not configured")
        limit = config.max_body_bytes or rt.config.server.max_body_bytes
        try:
            body = await read_limited_body(request, limit)
        except BodyTooLarge:
            monitoring.refused(rt, source.name, TOO_LARGE)
            return _error(413, TOO_LARGE, f"the body is larger than {limit} bytes")
        except ClientDisconnect:
            return _error(400, INVALID, "the client went away mid-body")
        if not source.check(request.headers, body, time.time()):
            log.info("refused %s delivery: bad or missing credentials", source.name)
            monitoring.refused(rt, source.name, UNAUTHORIZED)
            return _error(401, UNAUTHORIZED, "missing or invalid credentials")
        try:
            batch = source.parse(body, request.headers)
        except InvalidPayload as exc:
            log.info("refused %s delivery (%d): %s", source.name, exc.status, exc.reason)
            monitoring.refused(rt, source.name, INVALID)
            return _error(exc.status, INVALID, exc.reason, field=exc.field)
        except Exception:
            log.exception("the %s parser failed on a delivery", source.name)
            monitoring.refused(rt, source.name, UNREADABLE)
            return _error(400, UNREADABLE, "the payload could not be read")
        return await _store(rt, source, batch)

    return hook


async def _store(rt: Runtime, source: Source, batch: PageBatch) -> Response:
    sink = rt.hooks.page_sink
    assert sink is not None  # intake_routes refuses to serve without one
    refused = [{"index": r.index, "field": r.field, "reason": r.reason} for r in batch.refused]
    if refused:
        log.info("refused %d page(s) of a %s delivery", len(refused), source.name)
        monitoring.refused(rt, source.name, INVALID)
    extra = {"refused": refused} if refused else {}
    if not batch.pages:
        await monitoring.delivered(rt, source.name, 0)
        return JSONResponse({"accepted": 0, "new": 0, **extra})
    try:
        new = await sink(rt, batch)
    except Exception:
        # Storage trouble is ours, not the sender's: 503 so it retries the whole delivery.
        log.exception("storing a %s delivery of %d pages failed", source.name, len(batch.pages))
        monitoring.refused(rt, source.name, STORAGE)
        return _error(503, STORAGE, "the pages could not be stored; retry later")
    await monitoring.delivered(rt, source.name, len(batch.pages))
    return JSONResponse({"accepted": len(batch.pages), "new": new, **extra})


def intake_routes(rt: Runtime) -> list[Route]:
    if rt.hooks.page_sink is None:
        raise RuntimeError("intake needs a page sink: install the incidents area first")
    return [
        Route("/hooks/alertmanager", _endpoint(rt, _alertmanager), methods=["POST"]),
        Route("/hooks/pagerduty", _endpoint(rt, _pagerduty), methods=["POST"]),
        Route("/hooks/grafana", _endpoint(rt, _grafana), methods=["POST"]),
        Route("/hooks/generic/{name}", _endpoint(rt, _generic), methods=["POST"]),
    ]
