"""`PagerDutyOncalls`: who is on call in one schedule, from the REST API v2 `GET /oncalls`.

    async with PagerDutyOncalls(token, base_url="https://api.pagerduty.com") as api:
        entries = await api.list_oncalls(schedule_id="PI7DH85", since=..., until=...)

Every on-call entry overlapping `[since, until)` is returned, page after page
(`limit`/`offset`, until `more` is false), with the full user (`include[]=users`) so the
caller can map people by their login email. There is no retry here: the caller caches
answers and serves the last good one when PagerDuty does not answer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import TracebackType

import httpx
from pydantic import SecretStr, ValidationError

from integrations.pagerduty.errors import (
    PagerDutyError,
    PagerDutyRejected,
    PagerDutyUnavailable,
    rate_limited,
)
from integrations.pagerduty.models import Oncall, OncallPage

REST_URL = "https://api.pagerduty.com"
ACCEPT = "application/vnd.pagerduty+json;version=2"
PAGE_SIZE = 100  # PagerDuty's largest `limit`
MAX_PAGES = 50  # a server that always says `more: true` must not keep us here forever
SUBJECT = "the on-call request"
MAX_REASON = 300


class PagerDutyOncalls:
    def __init__(
        self,
        token: str | SecretStr,
        *,
        base_url: str = REST_URL,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        if not secret:
            raise ValueError("a PagerDuty REST API token is required")
        self._page_size = max(1, min(page_size, PAGE_SIZE))
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            headers={
                "Accept": ACCEPT,
                "Authorization": f"Token token={secret}",
                "User-Agent": "watchkeeper",
            },
        )

    async def list_oncalls(
        self,
        *,
        schedule_id: str,
        since: datetime,
        until: datetime,
        escalation_policy_id: str | None = None,
    ) -> list[Oncall]:
        """Every on-call of the schedule overlapping `[since, until)` (at most 90 days)."""
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("schedule_ids[]", schedule_id),
            ("since", since.astimezone(UTC).isoformat()),
            ("until", until.astimezone(UTC).isoformat()),
            ("include[]", "users"),
            ("time_zone", "UTC"),
            ("limit", self._page_size),
        ]
        if escalation_policy_id:
            params.append(("escalation_policy_ids[]", escalation_policy_id))
        found: list[Oncall] = []
        offset = 0
        for _ in range(MAX_PAGES):
            page = await self._page([*params, ("offset", offset)])
            found.extend(page.oncalls)
            if not page.more or not page.oncalls:
                return found
            offset += len(page.oncalls)
        raise PagerDutyUnavailable(f"GET /oncalls: still more after {MAX_PAGES} pages")

    async def _page(self, params: list[tuple[str, str | int | float | bool | None]]) -> OncallPage:
        try:
            response = await self._http.get("/oncalls", params=params)
        except httpx.TimeoutException:
            raise PagerDutyUnavailable("GET /oncalls: timed out") from None
        except httpx.TransportError as exc:
            raise PagerDutyUnavailable(f"GET /oncalls: {type(exc).__name__}") from None
        if response.status_code >= 300:
            raise _error(response)
        try:
            return OncallPage.model_validate_json(response.content)
        except ValidationError:
            raise PagerDutyUnavailable(
                "GET /oncalls: the answer is not a REST API v2 answer"
            ) from None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> PagerDutyOncalls:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _error(response: httpx.Response) -> PagerDutyError:
    status = response.status_code
    if status == 429:
        return rate_limited(response.headers.get("retry-after", ""))
    if status >= 500:
        return PagerDutyUnavailable(f"GET /oncalls: HTTP {status}")
    if status in (401, 403):
        return PagerDutyRejected(status, "the API token was refused", subject=SUBJECT)
    return PagerDutyRejected(status, _reason(response)[:MAX_REASON], subject=SUBJECT)


def _reason(response: httpx.Response) -> str:
    """PagerDuty's `{"error": {"message": ..., "errors": [...]}}`, else the status."""
    try:
        error = response.json().get("error") or {}
        details = [str(e) for e in (error.get("errors") or [])[:2]]
        return "; ".join([str(error.get("message") or f"HTTP {response.status_code}"), *details])
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"
