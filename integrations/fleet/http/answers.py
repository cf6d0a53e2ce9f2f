"""Turns the control plane's answers into models or into the `FleetError` they mean.

Error messages name the method, the path and the server's reason; never a header, so
never the token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from integrations.fleet.errors import FleetError, FleetProtocolError, FleetRequestRejected
from integrations.fleet.models import ApiError

Model = TypeVar("Model", bound=BaseModel)
# Raised for a 404 whose code is the expected one (or absent): ServiceNotFound, ...
NotFound = tuple[str, Callable[[], FleetError]]
MAX_REASON = 300


def _describe(exc: ValidationError) -> str:
    # Where and what, never the offending input: it could be anything the server sent.
    parts = [
        f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['type']}" for e in exc.errors()[:3]
    ]
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def parse(what: str, response: httpx.Response, model: type[Model]) -> Model:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise FleetProtocolError(
            f"{what}: the answer does not follow the contract ({_describe(exc)})"
        ) from None


def error_of(response: httpx.Response) -> tuple[str | None, str]:
    """The contract's (code, message) of an error answer; a bare status when it has none."""
    try:
        body = ApiError.model_validate_json(response.content)
    except ValidationError:
        return None, f"HTTP {response.status_code} {response.reason_phrase}".strip()
    return body.error, body.message[:MAX_REASON]


def rejection(
    what: str,
    response: httpx.Response,
    not_found: NotFound | None,
    scrub: Callable[[str], str],
) -> FleetError:
    """The error a 4xx (or an unexpected 1xx/3xx) answer means."""
    code, message = error_of(response)
    status = response.status_code
    if status == 404 and not_found is not None and code in (None, not_found[0]):
        return not_found[1]()
    if status < 400:
        return FleetProtocolError(f"{what}: unexpected HTTP {status}")
    return FleetRequestRejected(status, scrub(message), code=code)
