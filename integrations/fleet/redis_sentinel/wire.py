"""The wire: redis-py's asyncio client to the Sentinels and to the data nodes.

`redis.asyncio.sentinel.Sentinel` holds one client per configured Sentinel; the data
nodes (the master and replicas Sentinel names) each get a client of their own, made on
first use, with the data nodes' credentials. Answers come back raw (RESP2, no response
callbacks for `INFO`), so `parse` alone decides what they mean. redis-py's errors become
the fleet errors: no answer is `FleetUnavailable`, a refused login or command (ACL) is
`FleetRequestRejected` (a configuration fault, never a down service).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import redis.exceptions as rx
from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel

from integrations.fleet.errors import (
    FleetError,
    FleetProtocolError,
    FleetRequestRejected,
    FleetTimeout,
    FleetUnavailable,
)
from integrations.fleet.redis_sentinel.parse import Addr


def _raw(response: Any, **_options: Any) -> Any:
    return response


def fleet_error(exc: rx.RedisError, where: str) -> FleetError:
    """redis-py's error as a fleet error; the text names the server, never a secret."""
    if isinstance(exc, rx.TimeoutError):
        return FleetTimeout(f"{where}: no answer in time")
    if isinstance(exc, rx.AuthenticationError | rx.AuthorizationError):
        return FleetRequestRejected(403, f"{where} refused the login", code="forbidden")
    if isinstance(exc, rx.NoPermissionError):
        return FleetRequestRejected(403, f"{where}: {exc}", code="forbidden")
    if isinstance(exc, rx.ConnectionError):
        return FleetUnavailable(f"{where}: cannot connect")
    if isinstance(exc, rx.ResponseError):
        return FleetRequestRejected(409, f"{where}: {exc}", code="refused")
    return FleetProtocolError(f"{where}: {type(exc).__name__}")


class Wire:
    def __init__(
        self,
        sentinels: Sequence[Addr],
        *,
        sentinel_kwargs: dict[str, Any],
        node_kwargs: dict[str, Any],
    ) -> None:
        self.sentinels = list(sentinels)
        common = {"decode_responses": True, "protocol": 2, "driver_info": None}
        self._sentinel = Sentinel(
            [(a.host, a.port) for a in self.sentinels],
            sentinel_kwargs={**common, **sentinel_kwargs},
        )
        for client in self._sentinel.sentinels:
            client.set_response_callback("SENTINEL", _raw)
        self._node_kwargs = {**common, **node_kwargs}
        self._nodes: dict[Addr, Redis] = {}

    def _sentinel_client(self, at: Addr) -> Redis:
        client: Redis = self._sentinel.sentinels[self.sentinels.index(at)]
        return client

    def _node(self, at: Addr) -> Redis:
        client = self._nodes.get(at)
        if client is None:
            client = Redis(host=at.host, port=at.port, **self._node_kwargs)
            client.set_response_callback("INFO", _raw)
            self._nodes[at] = client
        return client

    @staticmethod
    async def _call(where: str, client: Redis, args: tuple[str, ...]) -> Any:
        try:
            return await client.execute_command(*args)  # type: ignore[no-untyped-call]
        except rx.RedisError as exc:
            raise fleet_error(exc, where) from None
        except (TimeoutError, OSError):
            raise FleetUnavailable(f"{where}: cannot connect") from None

    async def sentinel(self, at: Addr, *args: str) -> Any:
        """One `SENTINEL ...` command to the Sentinel at `at`, its raw answer."""
        return await self._call(f"Sentinel {at}", self._sentinel_client(at), ("SENTINEL", *args))

    async def node(self, at: Addr, *args: str) -> Any:
        """One command to a data node, its raw answer."""
        return await self._call(f"Redis {at}", self._node(at), args)

    async def aclose(self) -> None:
        for client in [*self._sentinel.sentinels, *self._nodes.values()]:
            with contextlib.suppress(rx.RedisError, OSError):
                await client.aclose()
        self._nodes.clear()
