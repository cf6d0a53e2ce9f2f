"""The Kafka admin client, run off the event loop, and what its errors mean to the core.

kafka-python is the one maintained Python client whose admin API has partition
reassignment and preferred leader election (aiokafka has neither; confluent-kafka has no
reassignment). It is synchronous, so every call runs on one worker thread per cluster
(one thread: the client is used by one caller at a time) under a deadline of its own.

`AdminSeam` is the part of `kafka.KafkaAdminClient` this backend uses: the seam where tests
put recorded protocol answers for what the test broker does not implement.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import kafka.errors as kerrors
from kafka import KafkaAdminClient
from kafka.protocol.api_key import ApiKey

from integrations.fleet.errors import FleetRequestRejected, FleetTimeout, FleetUnavailable

T = TypeVar("T")


class AdminSeam(Protocol):
    """The calls of `kafka.KafkaAdminClient` this backend makes (kafka-python 3)."""

    def describe_cluster(self) -> dict[str, Any]: ...

    def describe_topics(self, topics: list[str] | None = None) -> list[dict[str, Any]]: ...

    def describe_configs(
        self, config_resources: list[Any], include_synonyms: bool = False, config_filter: str = ...
    ) -> dict[str, Any]: ...

    def alter_configs(
        self,
        config_resources: list[Any],
        validate_only: bool = False,
        raise_on_unknown: bool = True,
        incremental: bool | None = None,
    ) -> dict[str, Any]: ...

    def describe_groups(self, group_ids: list[str]) -> dict[str, Any]: ...

    def list_group_offsets(self, group_specs: Any) -> dict[str, Any]: ...

    def list_partition_offsets(
        self, topic_partition_specs: Mapping[Any, Any]
    ) -> dict[Any, Any]: ...

    def alter_group_offsets(self, group_id: str, offsets: Mapping[Any, Any]) -> dict[Any, Any]: ...

    def elect_leaders(
        self, election_type: int, topic_partitions: Any = None, raise_errors: bool = True
    ) -> Any: ...

    def alter_partition_reassignments(self, reassignments: Mapping[Any, Any]) -> dict[Any, Any]: ...

    def list_partition_reassignments(self, topic_partitions: Any = None) -> dict[Any, Any]: ...

    def api_versions(self) -> dict[Any, tuple[int, int]]: ...

    def close(self) -> None: ...


class _Client(KafkaAdminClient):  # type: ignore[misc]  # kafka-python has no type hints
    """kafka-python's admin client, tolerant of ACL operation codes it does not know.

    It turns `authorized_operations` bit sets into its `ACLOperation` enum and raises on a
    bit it does not know (a Kafka 4 broker, or Tansu, sets bit 15). Watchkeeper never
    reads them, so they are dropped rather than failing the whole `DescribeGroups`.
    """

    def _process_acl_operations(self, obj: dict[str, Any]) -> dict[str, Any]:
        obj.pop("authorized_operations", None)
        return obj


@dataclass(frozen=True)
class Connection:
    """How to reach one cluster (`backend.Settings`, resolved)."""

    bootstrap_servers: tuple[str, ...]
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None
    timeout: float = 5.0

    def client_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "bootstrap_servers": list(self.bootstrap_servers),
            "client_id": "watchkeeper",
            "security_protocol": self.security_protocol,
            "request_timeout_ms": int(self.timeout * 1000),
            "bootstrap_timeout_ms": int(self.timeout * 1000),
            "reconnect_backoff_max_ms": 2000,
        }
        if self.sasl_mechanism:
            config |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": self.sasl_password,
            }
        if self.ssl_cafile:
            config["ssl_cafile"] = self.ssl_cafile
        return config


def open_client(connection: Connection) -> AdminSeam:
    client: AdminSeam = _Client(**connection.client_config())
    return client


def error_name(code: int) -> str:
    """`UNSUPPORTED_VERSION (35)`: the broker's own words for an error code."""
    kind = kerrors.for_code(code)
    name = getattr(kind, "message", None) or kind.__name__
    return f"{name} ({code})"


def _refusal(exc: kerrors.KafkaError) -> FleetRequestRejected | None:
    """A broker's answer that is a refusal (unsupported, not allowed, invalid), else None."""
    if isinstance(exc, kerrors.IncompatibleBrokerVersion):
        # The broker's ApiVersions answer does not offer the request at all.
        return FleetRequestRejected(
            409,
            f"the broker answered {error_name(exc.errno)}: it does not offer this request "
            "in its ApiVersions answer",
            code="unsupported",
        )
    errno = getattr(exc, "errno", None)
    if isinstance(errno, int) and errno > 0 and not getattr(exc, "retriable", True):
        code = "unsupported" if errno == kerrors.UnsupportedVersionError.errno else "refused"
        return FleetRequestRejected(409, f"the broker answered {error_name(errno)}", code=code)
    return None


class KafkaAdmin:
    """One cluster's admin client on its own thread; every call has a deadline."""

    def __init__(
        self,
        name: str,
        connection: Connection,
        opener: Callable[[Connection], AdminSeam] = open_client,
    ) -> None:
        self.name = name
        self._connection = connection
        self._opener = opener
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"kafka-{name}"
        )
        self._client: AdminSeam | None = None
        self._lock = threading.Lock()

    def _ready(self) -> AdminSeam:
        # On the worker thread: a cluster down at start is connected to on a later call.
        with self._lock:
            if self._client is None:
                self._client = self._opener(self._connection)
            return self._client

    async def call(
        self, what: str, fn: Callable[[AdminSeam], T], *, seconds: float | None = None
    ) -> T:
        """`fn(client)` on the worker thread; FleetError subclasses for what goes wrong."""
        limit = seconds or self._connection.timeout
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._pool, lambda: fn(self._ready()))
        try:
            return await asyncio.wait_for(future, limit)
        except TimeoutError:
            raise FleetTimeout(f"kafka {self.name}: {what} took longer than {limit:g} s") from None
        except kerrors.KafkaError as exc:
            refused = _refusal(exc)
            if refused is not None:
                raise refused from None
            raise FleetUnavailable(f"kafka {self.name}: {what}: {type(exc).__name__}") from None
        except (OSError, ValueError) as exc:
            raise FleetUnavailable(f"kafka {self.name}: {what}: {type(exc).__name__}") from None

    async def supports(self, *keys: ApiKey) -> list[ApiKey]:
        """Which of `keys` the broker does not offer in its ApiVersions answer."""
        offered = await self.call("ApiVersions", lambda c: c.api_versions())
        return [k for k in keys if k not in offered]

    async def aclose(self) -> None:
        def close() -> None:
            with self._lock:
                if self._client is not None:
                    self._client.close()
                    self._client = None

        loop = asyncio.get_running_loop()
        with contextlib.suppress(TimeoutError, kerrors.KafkaError, OSError):
            await asyncio.wait_for(loop.run_in_executor(self._pool, close), 5)
        self._pool.shutdown(wait=False, cancel_futures=True)


def partitions_of(topics: Sequence[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(topic, partition) pairs of a `describe_topics` answer, topics without error only."""
    return [
        (t["name"], p) for t in topics if not t.get("error_code") for p in t.get("partitions", [])
    ]
