"""The wire to Patroni's REST API: one httpx client for every configured cluster.

Reads try the members in turn, because any member answers `/cluster` from the DCS and a
cluster in trouble is exactly when one of them is down. Writes go to one member; they
move on to the next only when the connection was refused (nothing reached Patroni), never
after a timeout (Patroni may be doing it). Credentials go only to the URLs of `app.yaml`,
never to an `api_url` read from the DCS, and no message carries them.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from integrations.fleet.errors import (
    FleetError,
    FleetProtocolError,
    FleetRequestRejected,
    FleetTimeout,
    FleetUnavailable,
    ServiceNotFound,
)
from integrations.fleet.patroni.topology import ClusterAnswer

MAX_TEXT = 300


@dataclass(frozen=True)
class Reply:
    """Patroni's answer to a write: the status and its (plain text) message."""

    status: int
    text: str

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def origin(url: str) -> str:
    """`scheme://host:port`, the part of a URL that says which server it reaches."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def _check_url(cluster: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"cluster {cluster}: {url!r} is not an http(s) URL")
    if parts.username or parts.password:
        # They would end up in every error message; use username/password instead.
        raise ValueError(f"cluster {cluster}: put credentials in username/password, not the URL")
    return url.rstrip("/")


class PatroniRest:
    def __init__(
        self,
        clusters: Mapping[str, Sequence[str]],
        *,
        username: str | None = None,
        password: str | SecretStr | None = None,
        timeout: float = 5.0,
        action_timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.clusters = {
            name: [_check_url(name, str(u)) for u in urls] for name, urls in clusters.items()
        }
        empty = [name for name, urls in self.clusters.items() if not urls]
        if empty:
            raise ValueError(f"clusters without member URLs: {', '.join(empty)}")
        secret = password.get_secret_value() if isinstance(password, SecretStr) else password
        self._secret = secret or None
        auth = httpx.BasicAuth(username, secret or "") if username else None
        self.timeout = timeout
        self.action_timeout = action_timeout
        self._http = httpx.AsyncClient(
            auth=auth,
            timeout=timeout,
            transport=transport,
            verify=verify,
            # A redirect would carry the Authorization header to wherever it points.
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "watchkeeper"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def urls(self, cluster: str) -> list[str]:
        try:
            return self.clusters[cluster]
        except KeyError:
            raise ServiceNotFound(cluster) from None

    def configured_url(self, cluster: str, api_url: str | None) -> str | None:
        """The `app.yaml` URL of the member whose `api_url` (from the DCS) is given."""
        if not api_url:
            return None
        wanted = origin(api_url)
        return next((u for u in self.urls(cluster) if origin(u) == wanted), None)

    # -- reads -------------------------------------------------------------------------

    async def read_cluster(self, cluster: str) -> ClusterAnswer:
        """`GET /cluster` from the first member that gives a usable answer."""
        problems: list[FleetError] = []
        for url in self.urls(cluster):
            try:
                return ClusterAnswer.model_validate(await self.get_json(url, "/cluster"))
            except ValidationError:
                problems.append(FleetProtocolError(f"{url}/cluster: not a Patroni cluster answer"))
            except (FleetUnavailable, FleetProtocolError) as exc:
                problems.append(exc)
        summary = "; ".join(str(p) for p in problems)
        message = f"no member of cluster {cluster} answered: {summary}"
        if all(isinstance(p, FleetTimeout) for p in problems):
            raise FleetTimeout(message)
        if all(isinstance(p, FleetProtocolError) for p in problems):
            raise FleetProtocolError(message)
        raise FleetUnavailable(message)

    async def read_history(self, cluster: str) -> list[Any]:
        """`GET /history` (the DCS's timeline history) from the first member that answers."""
        problems: list[str] = []
        for url in self.urls(cluster):
            try:
                body = await self._get_body(url, "/history")
            except (FleetUnavailable, FleetProtocolError) as exc:
                problems.append(str(exc))
                continue
            if isinstance(body, list):
                return body
            problems.append(f"{url}/history: the answer is not a JSON list")
        raise FleetUnavailable(f"no member of cluster {cluster} gave its history: {problems}")

    async def get_json(self, url: str, path: str) -> dict[str, Any]:
        body = await self._get_body(url, path)
        if not isinstance(body, dict):
            raise FleetProtocolError(f"{url}{path}: the answer is not a JSON object")
        return body

    async def _get_body(self, url: str, path: str) -> Any:
        response = await self._request("GET", url, path)
        if response.status_code >= 400:
            raise FleetUnavailable(f"{url}{path}: HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise FleetProtocolError(f"{url}{path}: the answer is not JSON") from None

    async def get_status(self, url: str, path: str) -> int:
        """The status code of a health endpoint (`/health`, `/liveness`, `/readiness`)."""
        return (await self._request("GET", url, path)).status_code

    # -- writes ------------------------------------------------------------------------

    async def send(
        self, method: str, url: str, path: str, body: BaseModel | Mapping[str, Any] | None = None
    ) -> Reply:
        content = None
        if body is not None:
            data = body.model_dump(exclude_none=True) if isinstance(body, BaseModel) else body
            content = json.dumps(data).encode()
        response = await self._request(
            method, url, path, content=content, seconds=self.action_timeout
        )
        return Reply(response.status_code, self._text(response))

    async def send_any(
        self,
        cluster: str,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        first: str | None = None,
    ) -> Reply:
        """Send to `first` (a configured URL), else to the members in turn, while refused."""
        urls = self.urls(cluster)
        ordered = ([first] if first else []) + [u for u in urls if u != first]
        problems: list[str] = []
        for url in ordered:
            try:
                return await self.send(method, url, path, body)
            except FleetTimeout:
                raise
            except FleetUnavailable as exc:
                problems.append(str(exc))
        raise FleetUnavailable(
            f"no member of cluster {cluster} took {method} {path}: " + "; ".join(problems)
        )

    # -- the wire ----------------------------------------------------------------------

    def scrub(self, text: str) -> str:
        return text.replace(self._secret, "[redacted]") if self._secret else text

    def _text(self, response: httpx.Response) -> str:
        text = response.text.strip() or response.reason_phrase
        return self.scrub(" ".join(text.split()))[:MAX_TEXT]

    async def _request(
        self,
        method: str,
        url: str,
        path: str,
        *,
        content: bytes | None = None,
        seconds: float | None = None,
    ) -> httpx.Response:
        # `seconds`, not `timeout`: this is httpx's per-request limit, not a cancellation.
        limit = seconds if seconds is not None else self.timeout
        what = f"{method} {url}{path}"
        headers = {"Content-Type": "application/json"} if content is not None else None
        try:
            response = await self._http.request(
                method,
                url + path,
                content=content,
                headers=headers,
                timeout=limit,
            )
        except httpx.TimeoutException:
            raise FleetTimeout(f"{what}: no answer within {limit:g} s") from None
        except httpx.TransportError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                # Said as such: the fix is ca_file, not the network.
                raise FleetUnavailable(
                    f"{what}: the member's TLS certificate is not signed by a trusted CA (ca_file)"
                ) from None
            raise FleetUnavailable(f"{what}: cannot reach Patroni ({type(exc).__name__})") from None
        except ssl.SSLError as exc:
            # A TLS 1.3 member refuses a missing client certificate after the handshake,
            # on the first read: httpx lets that alert through unwrapped.
            raise FleetUnavailable(
                f"{what}: the member refused the TLS session ({exc.reason or 'ssl error'}; "
                "cert_file/key_file)"
            ) from None
        if response.status_code in (401, 403):
            # A configuration problem, not a member problem: the next member says the same.
            raise FleetRequestRejected(
                response.status_code,
                f"{what}: Patroni refused the credentials ({self._text(response)})",
                code="unauthorized",
            )
        return response
