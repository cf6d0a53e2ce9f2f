"""`PagerDutyEvents`: trigger and resolve alerts through PagerDuty's Events API v2.

Every event names its alert with a `dedup_key`, so sending the same event twice changes
nothing at PagerDuty; that is what makes retrying safe here (on connection errors, 5xx
and 429, with a short jittered backoff or PagerDuty's Retry-After: `integrations.retry`),
unlike most POSTs.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

import httpx
from pydantic import SecretStr, ValidationError

from integrations.pagerduty.errors import (
    PagerDutyError,
    PagerDutyRejected,
    PagerDutyUnavailable,
    rate_limited,
)
from integrations.pagerduty.models import (
    AlertPayload,
    EnqueueAnswer,
    EnqueueEvent,
    EventAction,
    EventSeverity,
)
from integrations.pages import Severity
from integrations.retry import retrying

log = logging.getLogger(__name__)
EVENTS_URL = "https://events.pagerduty.com"
ENQUEUE_PATH = "/v2/enqueue"
MAX_REASON = 300
# Our four severities onto PagerDuty's four.
EVENT_SEVERITY: dict[Severity, EventSeverity] = {
    "critical": "critical",
    "high": "error",
    "warning": "warning",
    "info": "info",
}


class PagerDutyEvents:
    def __init__(
        self,
        routing_key: str | SecretStr,
        *,
        base_url: str = EVENTS_URL,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        retries: int = 2,
        backoff: float = 0.2,
    ) -> None:
        key = routing_key.get_secret_value() if isinstance(routing_key, SecretStr) else routing_key
        if not key:
            raise ValueError("a routing key is required")
        self._routing_key = key
        self._retries = max(0, retries)
        self._backoff = backoff
        # Either the service's base URL or the full enqueue URL (as app.yaml spells it).
        self._url = base_url.rstrip("/")
        if not self._url.endswith(ENQUEUE_PATH):
            self._url += ENQUEUE_PATH
        self._http = httpx.AsyncClient(
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "watchkeeper"},
        )

    async def trigger(
        self,
        dedup_key: str,
        summary: str,
        severity: Severity,
        source: str,
        *,
        custom_details: dict[str, Any] | None = None,
    ) -> str:
        """Opens (or updates) the alert `dedup_key`; returns the key PagerDuty recorded."""
        payload = AlertPayload(
            summary=summary[:1024],
            source=source,
            severity=EVENT_SEVERITY[severity],
            custom_details=custom_details,
        )
        return await self._enqueue("trigger", dedup_key, payload)

    async def acknowledge(self, dedup_key: str) -> str:
        return await self._enqueue("acknowledge", dedup_key, None)

    async def resolve(self, dedup_key: str) -> str:
        return await self._enqueue("resolve", dedup_key, None)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> PagerDutyEvents:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def _enqueue(
        self, action: EventAction, dedup_key: str, payload: AlertPayload | None
    ) -> str:
        if not dedup_key or len(dedup_key) > 255:
            raise ValueError("dedup_key must be 1-255 characters")
        event = EnqueueEvent(
            routing_key=self._routing_key, event_action=action, dedup_key=dedup_key, payload=payload
        )
        body = event.model_dump(mode="json", exclude_none=True)
        policy = retrying(
            retries=self._retries,
            when=lambda failure: isinstance(failure, PagerDutyUnavailable),
            backoff=self._backoff,
            log=log,
        )
        return await policy(self._once, action, body, dedup_key)

    async def _once(self, action: EventAction, body: dict[str, Any], dedup_key: str) -> str:
        try:
            response = await self._http.post(self._url, json=body)
        except httpx.TimeoutException:
            raise PagerDutyUnavailable(f"{action}: timed out") from None
        except httpx.TransportError as exc:
            raise PagerDutyUnavailable(f"{action}: {type(exc).__name__}") from None
        if response.status_code < 300:
            return _recorded_key(action, response, dedup_key)
        raise _error(action, response)


def _recorded_key(action: str, response: httpx.Response, sent: str) -> str:
    try:
        answer = EnqueueAnswer.model_validate_json(response.content)
    except ValidationError:
        raise PagerDutyError(f"{action}: the answer is not an Events API v2 answer") from None
    return answer.dedup_key or sent


def _error(action: str, response: httpx.Response) -> PagerDutyError:
    status = response.status_code
    if status == 429:
        return rate_limited(response.headers.get("retry-after", ""))
    if status >= 500:
        return PagerDutyUnavailable(f"{action}: HTTP {status}")
    try:
        answer = EnqueueAnswer.model_validate_json(response.content)
        reason = "; ".join([answer.message or answer.status, *answer.errors[:2]])
    except ValidationError:
        reason = f"HTTP {status}"
    return PagerDutyRejected(status, f"{action}: {reason}"[:MAX_REASON])
