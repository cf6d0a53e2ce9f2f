"""The HTTP surface: Slack's request URL, health and readiness. Starlette + uvicorn."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.db.migrate import schema_state
from bot.intake.routes import intake_routes
from bot.slack_signature import signature_problem

if TYPE_CHECKING:
    from bot.server import Bot

log = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    pass


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The body, refused once it passes `limit` bytes, before anything parses it."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
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
    handler = AsyncSlackRequestHandler(bot.bolt)
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
        return await handler.handle(request)

    return slack_events


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


def _readyz(bot: Bot) -> Callable[[Request], Awaitable[Response]]:
    async def readyz(_: Request) -> Response:
        try:
            current, head = await schema_state(bot.runtime.engine)
        except Exception as exc:  # any database failure means "not ready", with its kind
            return JSONResponse(
                {"status": "unavailable", "database": type(exc).__name__}, status_code=503
            )
        if current != head:
            return JSONResponse(
                {"status": "unavailable", "database": "ok", "schema": current, "expected": head},
                status_code=503,
            )
        return JSONResponse({"status": "ok", "database": "ok", "schema": current})

    return readyz


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

    routes = [
        Route("/slack/events", _slack_events(bot), methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", _readyz(bot), methods=["GET"]),
        *intake_routes(bot),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
