"""`POST /ops/v1/<word>`: the fallback console's endpoint on the running bot (docs/fallback.md).

Each request names its login (`X-Watchkeeper-Login`) and carries that login's own token
(`Authorization: Bearer`); the body is a small JSON object. Answers are JSON: `text` for
people, `request` when one is made or decided, and `error` on a refusal (401 credentials,
403 unmapped login or the permission step's refusal, 400 a malformed body, 404 an unknown
service or request, 503 the fleet did not answer). The guard chain's own refusals (not on
call, frozen, locked, self-approval...) are answers, 200 with their reason, as in Slack.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.console import service
from bot.console.auth import ConsoleCaller, Refusal, authenticate
from bot.console.service import Answer, ConsoleError
from bot.http_body import BodyTooLarge, read_limited_body
from bot.runtime import Runtime
from integrations.fleet.models import ParamValue

log = logging.getLogger(__name__)
MAX_BODY = 16_384
Act = Callable[[Runtime, ConsoleCaller, dict[str, Any]], Awaitable[Answer]]


def _text(body: dict[str, Any], key: str, *, required: bool = True, limit: int = 200) -> str:
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ConsoleError(400, "invalid", f"{key!r} must be a string of 1-{limit} characters")
    return value.strip()


def _params(body: dict[str, Any]) -> dict[str, ParamValue]:
    raw = body.get("params") or {}
    if not isinstance(raw, dict) or len(raw) > 20:
        raise ConsoleError(400, "invalid", "'params' must be an object of at most 20 keys")
    out: dict[str, ParamValue] = {}
    for key, value in raw.items():
        if not isinstance(value, str | int | float | bool) or len(str(value)) > 200:
            raise ConsoleError(400, "invalid", f"params.{str(key)[:40]} must be a short value")
        out[str(key)[:40]] = value
    return out


async def _incidents(rt: Runtime, who: ConsoleCaller, body: dict[str, Any]) -> Answer:
    return await service.open_incidents(rt, who)


async def _status(rt: Runtime, who: ConsoleCaller, body: dict[str, Any]) -> Answer:
    return await service.status(rt, who, _text(body, "service"))


async def _request(rt: Runtime, who: ConsoleCaller, body: dict[str, Any]) -> Answer:
    reason = _text(body, "reason", required=False, limit=2000) or None
    return await service.request_action(
        rt,
        who,
        action=_text(body, "action", limit=40),
        service=_text(body, "service"),
        params=_params(body),
        reason=reason,
        break_glass=body.get("break_glass") is True,
    )


def _decision(word: str) -> Act:
    async def act(rt: Runtime, who: ConsoleCaller, body: dict[str, Any]) -> Answer:
        return await service.decide(rt, who, word, _text(body, "request", limit=32))

    return act


ACTS: dict[str, Act] = {
    "incidents": _incidents,
    "status": _status,
    "request": _request,
    **{word: _decision(word) for word in service.DECISIONS},
}


def _refused(status: int, error: str, text: str) -> JSONResponse:
    return JSONResponse({"error": error, "text": text}, status_code=status)


def _endpoint(rt: Runtime, act: Act) -> Callable[[Request], Awaitable[Response]]:
    async def answer(request: Request) -> Response:
        who = authenticate(rt.config.cli, request.headers)
        if isinstance(who, Refusal):
            log.info("console request refused: %s", who.error)
            return _refused(who.status, who.error, who.text)
        try:
            raw = await read_limited_body(request, MAX_BODY)
            body = json.loads(raw or b"{}")
        except BodyTooLarge:
            return _refused(413, "too_large", f"the body is larger than {MAX_BODY} bytes")
        except (ValueError, ClientDisconnect):
            return _refused(400, "invalid", "the body is not JSON")
        if not isinstance(body, dict):
            return _refused(400, "invalid", "the body must be a JSON object")
        try:
            done = await act(rt, who, body)
        except ConsoleError as exc:
            return _refused(exc.status, exc.error, exc.text)
        return JSONResponse({"text": done.text, "request": done.request, **done.data})

    return answer


def console_routes(rt: Runtime) -> Sequence[BaseRoute]:
    if not rt.config.cli.users:
        return []  # no engineer is mapped: the endpoint does not exist
    return [
        Route(f"/ops/v1/{word}", _endpoint(rt, act), methods=["POST"]) for word, act in ACTS.items()
    ]
