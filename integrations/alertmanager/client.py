"""`AlertmanagerClient`: silences and alerts through Alertmanager's API v2.

Retries: reading silences, posting alerts (the same label set is the same alert) and
expiring a silence are idempotent, so they are retried on connection errors and 5xx with
a short jittered backoff (`integrations.retry`). Creating a silence is not: a retry after
a lost answer would leave two silences, so it is tried once and the caller decides.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from integrations.alertmanager.errors import (
    AlertmanagerError,
    AlertmanagerProtocolError,
    AlertmanagerRejected,
    AlertmanagerUnavailable,
    SilenceNotFound,
)
from integrations.alertmanager.models import (
    Matcher,
    PostableAlert,
    PostableSilence,
    Silence,
    SilenceCreated,
)
from integrations.retry import retrying

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
MAX_REASON = 300
_SILENCES = TypeAdapter(list[Silence])


def _secret(value: str | SecretStr | None) -> str | None:
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    return raw or None


def _matches_empty(m: Matcher) -> bool:
    if m.is_regex:
        try:
            hit = re.fullmatch(m.value, "") is not None
        except re.error:
            return False  # Alertmanager will judge a regex Python cannot read
    else:
        hit = m.value == ""
    return hit if m.is_equal else not hit


def as_matchers(matchers: Sequence[Matcher] | Mapping[str, str]) -> list[Matcher]:
    """Matchers for a silence; refuses a set that would silence every alert.

    Alertmanager's own rule, checked before the request: at least one matcher must not
    match the empty string (an empty or all-wildcard set is an error, never "everything").
    """
    found = (
        [Matcher(name=k, value=v) for k, v in matchers.items()]
        if isinstance(matchers, Mapping)
        else list(matchers)
    )
    if not found or all(_matches_empty(m) for m in found):
        raise ValueError("a silence needs at least one matcher that does not match everything")
    return found


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class AlertmanagerClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | SecretStr | None = None,
        username: str | None = None,
        password: str | SecretStr | None = None,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        retries: int = 2,
        backoff: float = 0.1,
    ) -> None:
        headers = {"Accept": "application/json", "User-Agent": "watchkeeper"}
        bearer = _secret(token)
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        auth = None
        if username:
            auth = httpx.BasicAuth(username, _secret(password) or "")
        self._retries = max(0, retries)
        self._backoff = backoff
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/").removesuffix("/api/v2") + "/api/v2",
            timeout=timeout,
            transport=transport,
            headers=headers,
            auth=auth,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AlertmanagerClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- silences ----------------------------------------------------------------------

    async def create_silence(
        self,
        matchers: Sequence[Matcher] | Mapping[str, str],
        starts: datetime,
        ends: datetime,
        created_by: str,
        comment: str,
    ) -> str:
        """The id of a new silence from `starts` to `ends` (timezone-aware or UTC)."""
        starts, ends = _utc(starts), _utc(ends)
        if ends <= starts:
            raise ValueError("a silence must end after it starts")
        silence = PostableSilence(
            matchers=as_matchers(matchers),
            starts_at=starts,
            ends_at=ends,
            created_by=created_by,
            comment=comment,
        )
        response = await self._send("POST", "/silences", json=_dump(silence), retry=False)
        return _parse("POST /silences", response, SilenceCreated).silence_id

    async def expire_silence(self, silence_id: str) -> None:
        """Ends the silence now; `SilenceNotFound` when Alertmanager does not know it."""
        path = f"/silence/{quote(silence_id, safe='')}"
        response = await self._send("DELETE", path, not_found=lambda: SilenceNotFound(silence_id))
        del response

    async def get_silence(self, silence_id: str) -> Silence:
        path = f"/silence/{quote(silence_id, safe='')}"
        response = await self._send("GET", path, not_found=lambda: SilenceNotFound(silence_id))
        return _parse(f"GET {path}", response, Silence)

    async def list_silences(self, *, filters: Sequence[str] = ()) -> list[Silence]:
        """Every silence Alertmanager keeps (active, pending and recently expired);
        `filters` are Alertmanager matcher strings such as `service="pg-orders"`."""
        params = [("filter", f) for f in filters]
        response = await self._send("GET", "/silences", params=params)
        try:
            return _SILENCES.validate_json(response.content)
        except ValidationError as exc:
            raise AlertmanagerProtocolError(
                f"GET /silences: the answer does not follow API v2 ({exc.error_count()} errors)"
            ) from None

    # -- alerts ------------------------------------------------------------------------

    async def post_alerts(self, alerts: Sequence[PostableAlert]) -> None:
        """Fires (or, with `ends_at` in the past, resolves) the given alerts."""
        body = [_dump(a) for a in alerts]
        await self._send("POST", "/alerts", json=body)

    # -- plumbing ----------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        retry: bool = True,
        not_found: Callable[[], AlertmanagerError] | None = None,
    ) -> httpx.Response:
        what = f"{method} {path}"
        policy = retrying(
            retries=self._retries if retry else 0,
            when=lambda failure: isinstance(failure, AlertmanagerUnavailable),
            backoff=self._backoff,
            log=log,
        )
        return await policy(self._once, method, path, what, json, params, not_found)

    async def _once(
        self,
        method: str,
        path: str,
        what: str,
        json: Any,
        params: Any,
        not_found: Callable[[], AlertmanagerError] | None,
    ) -> httpx.Response:
        try:
            response = await self._http.request(method, path, json=json, params=params)
        except httpx.TimeoutException:
            raise AlertmanagerUnavailable(f"{what}: timed out") from None
        except httpx.TransportError as exc:
            raise AlertmanagerUnavailable(f"{what}: {type(exc).__name__}") from None
        if response.status_code < 300:
            return response
        if response.status_code < 500:
            raise _rejection(what, response, not_found)
        if not_found is not None and "not found" in _reason(response).lower():
            # Alertmanager 0.25 answers DELETE of an unknown silence with a 500.
            raise not_found()
        raise AlertmanagerUnavailable(f"{what}: HTTP {response.status_code} {_reason(response)}")


def _dump(model: BaseModel) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def _reason(response: httpx.Response) -> str:
    text = response.text.strip()
    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = text
    if isinstance(decoded, dict):
        decoded = decoded.get("message") or decoded.get("error") or text
    return str(decoded)[:MAX_REASON]


def _rejection(
    what: str, response: httpx.Response, not_found: Callable[[], AlertmanagerError] | None
) -> AlertmanagerError:
    if response.status_code == 404 and not_found is not None:
        return not_found()
    if response.status_code < 400:
        return AlertmanagerProtocolError(f"{what}: unexpected HTTP {response.status_code}")
    return AlertmanagerRejected(response.status_code, _reason(response))


def _parse(what: str, response: httpx.Response, model: type[M]) -> M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise AlertmanagerProtocolError(
            f"{what}: the answer does not follow API v2 ({exc.error_count()} errors)"
        ) from None
