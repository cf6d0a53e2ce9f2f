"""A small Slack Web API client on httpx, used by the outbox to deliver messages.

It classifies every answer into success, a permanent API error, or a retryable outage,
so the outbox can decide; it never retries by itself. The token never enters an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from integrations.slack.errors import SlackApiError, SlackError, SlackRateLimited, SlackUnavailable

DEFAULT_RETRY_AFTER = 30.0


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", DEFAULT_RETRY_AFTER)))
    except ValueError:
        return DEFAULT_RETRY_AFTER


def error_name(exc: SlackError) -> str:
    """Slack's own name for what went wrong: its `error`, `ratelimited`, or `unavailable`."""
    if isinstance(exc, SlackApiError):
        return exc.error
    return "ratelimited" if isinstance(exc, SlackRateLimited) else "unavailable"


class SlackWebClient:
    def __init__(
        self,
        token: str,
        api_url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        on_error: Callable[[str, SlackError], None] | None = None,
        on_answer: Callable[[str], None] | None = None,
        response_url_allowed: Callable[[str], bool] | None = None,
    ) -> None:
        self._token = token
        # Asked before every response_url post; a URL it refuses is never called.
        self._response_url_allowed = response_url_allowed
        # Told `(method, exc)` of every failed call and `method` of every call that worked,
        # e.g. to count errors and know whether Slack is reachable.
        self._on_error = on_error
        self._on_answer = on_answer
        self._api_url = api_url if api_url.endswith("/") else api_url + "/"
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def call(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a Web API method; the answer's data on `ok: true`."""
        return await self._post(
            method,
            self._api_url + method,
            payload,
            {"Authorization": f"Bearer {self._token}"},
        )

    async def respond(self, response_url: str, payload: dict[str, Any]) -> None:
        """POST to an interaction's `response_url` (no token: the URL is the credential).
        One the `response_url_allowed` check refuses fails as `untrusted_response_url`
        without any request."""
        if self._response_url_allowed is not None and not self._response_url_allowed(response_url):
            raise SlackApiError("response_url", "untrusted_response_url")
        await self._post("response_url", response_url, payload, {})

    async def upload_file(
        self, *, channel: str, thread_ts: str | None, filename: str, title: str, content: bytes
    ) -> dict[str, Any]:
        """Share a file through Slack's external upload: ask for an upload URL
        (`files.getUploadURLExternal`), POST the bytes to it, then share the file in the
        channel, in a thread when `thread_ts` is set (`files.completeUploadExternal`). A
        failure anywhere fails the whole upload; retried, it starts again with a new URL."""
        ticket = await self.call(
            "files.getUploadURLExternal", {"filename": filename, "length": len(content)}
        )
        upload_url, file_id = ticket.get("upload_url"), ticket.get("file_id")
        if not isinstance(upload_url, str) or not isinstance(file_id, str):
            raise SlackUnavailable("files.getUploadURLExternal: no upload_url or file_id")
        if not self._upload_url_allowed(upload_url):
            raise SlackApiError("files.getUploadURLExternal", "untrusted_upload_url")
        await self._send_bytes(upload_url, content)
        share: dict[str, Any] = {"files": [{"id": file_id, "title": title}], "channel_id": channel}
        if thread_ts:
            share["thread_ts"] = thread_ts
        return await self.call("files.completeUploadExternal", share)

    def _upload_url_allowed(self, url: str) -> bool:
        # Slack's file host, or the host of the API we were configured with (a stand-in):
        # an answer that points the bytes anywhere else is not followed.
        target, api = httpx.URL(url), httpx.URL(self._api_url)
        if target.scheme == "https" and (
            target.host == "files.slack.com" or target.host.endswith(".slack.com")
        ):
            return True
        return (target.scheme, target.host, target.port) == (api.scheme, api.host, api.port)

    async def _send_bytes(self, url: str, content: bytes) -> None:
        what = "files.upload"
        try:
            # Raw bytes, which Slack takes as well as a multipart form. No token: the
            # upload URL is the credential, as with a response_url.
            response = await self._http.post(
                url, content=content, headers={"Content-Type": "application/octet-stream"}
            )
        except httpx.HTTPError as exc:
            error: SlackError = SlackUnavailable(f"{what}: {type(exc).__name__}")
        else:
            if response.status_code < 300:
                if self._on_answer is not None:
                    self._on_answer(what)
                return
            if response.status_code == 429:
                error = SlackRateLimited(what, _retry_after(response))
            elif response.status_code >= 500:
                error = SlackUnavailable(f"{what}: HTTP {response.status_code}")
            else:
                error = SlackApiError(what, f"http_{response.status_code}")
        if self._on_error is not None:
            self._on_error(what, error)
        raise error

    async def _post(
        self, method: str, url: str, payload: dict[str, Any], headers: dict[str, str]
    ) -> dict[str, Any]:
        try:
            answer = await self._answer(method, url, payload, headers)
        except SlackError as exc:
            if self._on_error is not None:
                self._on_error(method, exc)
            raise
        if self._on_answer is not None:
            self._on_answer(method)
        return answer

    async def _answer(
        self, method: str, url: str, payload: dict[str, Any], headers: dict[str, str]
    ) -> dict[str, Any]:
        try:
            response = await self._http.post(url, json=payload, headers=headers)
        except httpx.TimeoutException:
            raise SlackUnavailable(f"{method}: timed out") from None
        except httpx.HTTPError as exc:
            raise SlackUnavailable(f"{method}: {type(exc).__name__}") from None
        if response.status_code == 429:
            raise SlackRateLimited(method, _retry_after(response))
        if response.status_code >= 500:
            raise SlackUnavailable(f"{method}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise SlackApiError(method, f"http_{response.status_code}")
        try:
            data = response.json()
        except ValueError:
            # response_url answers plain "ok"; a Web API method never does.
            if method == "response_url":
                return {"ok": True}
            raise SlackUnavailable(f"{method}: answer is not JSON") from None
        if not isinstance(data, dict):
            raise SlackUnavailable(f"{method}: answer is not an object")
        if not data.get("ok", method == "response_url"):
            raise SlackApiError(method, str(data.get("error", "unknown_error")))
        return data

    async def aclose(self) -> None:
        await self._http.aclose()
