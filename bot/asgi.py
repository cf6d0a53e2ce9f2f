"""The HTTP surface: Slack's request URL, webhooks, health, readiness and metrics.
Starlette + uvicorn."""

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

from bot.intake.routes import intake_routes
from bot.monitoring import routes as monitoring
from bot.slack_signature import signature_problem

if TYPE_CHECKING:
    from bot.composition import Bot

log = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    pass


def declares_more_than(request: Request, limit: int) -> bool:
    """Whether the Content-Length header announces more than `limit` bytes. ASCII digits
    only: `str.isdigit` also accepts "²", which `int` then refuses."""
    declared = request.headers.get("content-length", "")
    return declared.isascii() and declared.isdigit() and int(declared) > limit


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The body, refused once it passes `limit` bytes, before anything parses it."""
    if declares_more_than(request, limit):
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    body = b"".join(chunks)
    # Later readers (Bolt's adapter) get the same bytes from Starlette's cache.
    request._body = body
    return body


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


def _bodiless(
    endpoint: Callable[[Request], Awaitable[Response]], limit: int
) -> Callable[[Request], Awaitable[Response]]:
    """A GET endpoint never reads its body; one declared past the limit is refused anyway,
    like everywhere else, so no endpoint accepts what the others would not."""

    async def limited(request: Request) -> Response:
        if declares_more_than(request, limit):
            return PlainTextResponse("request body too large", status_code=413)
        return await endpoint(request)

    return limited


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
    routes = [
        Route("/slack/events", _slack_events(bot), methods=["POST"]),
        Route("/healthz", _bodiless(healthz, limit), methods=["GET"]),
        Route("/readyz", _bodiless(monitoring.readyz(bot), limit), methods=["GET"]),
        Route("/metrics", _bodiless(monitoring.metrics(bot), limit), methods=["GET"]),
        *intake_routes(bot),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
