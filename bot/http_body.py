"""Reading a request body within a size limit, before anything parses it: one rule for
Slack's request URL, the webhooks and every other endpoint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response


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


def bodiless(
    endpoint: Callable[[Request], Awaitable[Response]], limit: int
) -> Callable[[Request], Awaitable[Response]]:
    """A GET endpoint never reads its body; one declared past the limit is refused anyway,
    like everywhere else, so no endpoint accepts what the others would not."""

    async def limited(request: Request) -> Response:
        if declares_more_than(request, limit):
            return PlainTextResponse("request body too large", status_code=413)
        return await endpoint(request)

    return limited
