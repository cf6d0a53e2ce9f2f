"""The HTTP surface: Slack's request URL (HTTP mode only) and liveness here, and the routes
the areas add (webhooks from intake, readiness and metrics from monitoring). Starlette +
uvicorn."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from slack_bolt.adapter.starlette.async_handler import (
    to_async_bolt_request,
    to_starlette_response,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.http_body import BodyTooLarge, bodiless, read_limited_body
from bot.http_gate import gate
from bot.slack_signature import signature_problem

if TYPE_CHECKING:
    from bot.composition import Bot

log = logging.getLogger(__name__)


def _slack_events(bot: Bot) -> Callable[[Request], Awaitable[Response]]:
    secret = bot.runtime.config.slack.signing_secret.get_secret_value()
    limit = bot.runtime.config.server.max_body_bytes

    async def slack_events(request: Request) -> Response:
        try:
            body = await read_limited_body(request, limit)
        except BodyTooLarge:
            return PlainTextResponse("request body too large", status_code=413)
        problem = signature_problem(secret, request.headers, body, time.time())
        if problem is not None:
            log.info("refused Slack request: %s", problem)
            return PlainTextResponse("invalid request signature", status_code=401)
        try:
            # Bolt parses the body and reads ids out of it before any listener runs, and
            # raises on a signed body it cannot read (not UTF-8, `payload=null`, a form sent
            # as JSON, `"team": 5`): the sender's error, not a 500.
            bolt_request = to_async_bolt_request(request, body)
        except Exception as exc:
            log.info("refused Slack request: unreadable body (%s)", type(exc).__name__)
            return PlainTextResponse("unreadable request body", status_code=400)
        answer = await bot.bolt.async_dispatch(bolt_request)
        if answer.status >= 500:
            # Bolt answers 500 when something raised inside it before any ack, and logs
            # the traceback. A signed body its listener matchers cannot read is how that
            # happens (`"actions": []`, `"action_id": {}`): the sender gets a 400.
            return PlainTextResponse("unreadable request body", status_code=400)
        return to_starlette_response(answer)

    return slack_events


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create_asgi_app(bot: Bot, *, manage_lifecycle: bool = True) -> Starlette:
    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if manage_lifecycle:
            await bot.start()
        try:
            yield
        finally:
            if manage_lifecycle:
                await bot.stop()

    limit = bot.runtime.config.server.max_body_bytes
    # /livez: the process serves (restart it if not); /healthz is its older name.
    alive = bodiless(healthz, limit)
    routes = [
        Route("/livez", alive, methods=["GET"]),
        Route("/healthz", alive, methods=["GET"]),
        *bot.routes,
    ]
    if bot.runtime.config.slack.mode == "http":
        # In Socket Mode Slack's requests arrive over the socket only: an HTTP request URL
        # would be a second, unneeded way in for anyone holding (or guessing) the secret.
        routes.append(Route("/slack/events", _slack_events(bot), methods=["POST"]))
    return Starlette(routes=routes, lifespan=lifespan, middleware=[gate(bot.runtime.config)])
