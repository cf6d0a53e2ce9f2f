"""A real Redis master, two replicas and three Sentinels on loopback, for integration tests.

Use it from a test module by importing the fixture function (the fixture's name is
`sentinel_cluster`, so the import does not shadow the test parameter):

    from tests.redis_sentinel_cluster import SentinelCluster, sentinel_cluster_fixture  # noqa: F401

    def test_x(sentinel_cluster: SentinelCluster) -> None: ...

One set of servers per test session (started on first use, stopped when pytest
unconfigures): starting is fast, but a switchover leaves the set in another shape, so
tests wait for `wait_until_settled()` instead of assuming who is master.

Watchkeeper connects as the ACL user `watchkeeper`, on the data nodes and on the
Sentinels, limited to exactly the commands docs/backends.md lists (`ACL_DATA`,
`ACL_SENTINEL`): a command the backend uses without saying so fails these tests.
Sentinels and replication use the `default` user, as a deployment's own would.
Every port is a free loopback port chosen at run time; every file is in a temporary
directory removed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import need_real
from tests.real_processes import Process, free_ports, wait_for

REDIS_SERVER = Path("/usr/bin/redis-server")
MASTER_NAME = "redis-cache"
DATA_NODES = 3  # a master and two replicas
SENTINELS = 3
QUORUM = 2
START_SECONDS = 30.0
USER = "watchkeeper"
# The commands the backend sends, exactly as docs/backends.md lists them.
ACL_DATA = "-@all +info +replicaof +client|kill"
ACL_SENTINEL = (
    "-@all +sentinel|masters +sentinel|master +sentinel|replicas +sentinel|sentinels"
    " +sentinel|ckquorum +sentinel|get-master-addr-by-name +sentinel|failover"
)
PASSWORD_ENV = "WK_TEST_REDIS_PASSWORD"


@dataclass
class SentinelCluster:
    name: str
    data_ports: list[int]
    sentinel_ports: list[int]
    password: str
    base_dir: Path
    _processes: list[Process] = field(default_factory=list, repr=False)

    @staticmethod
    def member(port: int) -> str:
        """The backend's name for the node on this loopback port."""
        return f"127.0.0.1-{port}"

    def backend_config(self, name: str = "sentinel", **extra: Any) -> dict[str, Any]:
        """The `fleet.backends` entry of `app.yaml` that points Watchkeeper at this set."""
        return {
            "name": name,
            "type": "redis-sentinel",
            "sentinels": [f"127.0.0.1:{p}" for p in self.sentinel_ports],
            "masters": [self.name],
            "username": USER,
            "password_env": PASSWORD_ENV,
            "timeout_seconds": 2,
            **extra,
        }

    # -- reading, as the default user --------------------------------------------------

    def _client(self, port: int) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1", port=port, socket_timeout=2, decode_responses=True, protocol=2
        )

    def sentinel_masters(self) -> list[int | None]:
        """Each Sentinel's answer to GET-MASTER-ADDR-BY-NAME: the master's port, or None."""
        ports: list[int | None] = []
        for port in self.sentinel_ports:
            answer = None
            with contextlib.suppress(redis.RedisError), self._client(port) as client:
                addr = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.name)
                answer = int(addr[1]) if addr else None
            ports.append(answer)
        return ports

    def master_port(self) -> int | None:
        """The master all Sentinels agree on, or None while they do not."""
        answers = set(self.sentinel_masters())
        return answers.pop() if len(answers) == 1 else None

    def sentinel_view(self, port: int, field: str) -> str:
        """One field of a Sentinel's SENTINEL MASTER answer (`config-epoch`, ...)."""
        with self._client(port) as client:
            state = client.execute_command("SENTINEL", "MASTER", self.name)
            return str(dict(zip(state[::2], state[1::2], strict=True))[field])

    def sentinel_priorities(self) -> dict[int, int]:
        """replica port -> replica-priority, as the first Sentinel last read it."""
        with self._client(self.sentinel_ports[0]) as client:
            replies = client.execute_command("SENTINEL", "REPLICAS", self.name)
        found = [dict(zip(r[::2], r[1::2], strict=True)) for r in replies]
        return {int(r["port"]): int(r["slave-priority"]) for r in found}

    def set_priority(self, port: int, priority: int) -> None:
        with self._client(port) as client:
            client.config_set("replica-priority", priority)

    def replication(self, port: int) -> dict[str, Any]:
        with self._client(port) as client:
            info: dict[str, Any] = client.info("replication")
            return info

    def is_settled(self) -> bool:
        """All Sentinels agree on a master that says so, every other node is its linked
        replica, and each Sentinel, with no failover running, knows the other two and has
        read both replicas' INFO lately (what it ranks them by, docs/backends.md)."""
        master = self.master_port()
        if master is None:
            return False
        try:
            if self.replication(master).get("role") != "master":
                return False
            for port in self.data_ports:
                if port == master:
                    continue
                info = self.replication(port)
                if (
                    info.get("role") != "slave"
                    or int(info.get("master_port", 0)) != master
                    or info.get("master_link_status") != "up"
                ):
                    return False
            for port in self.sentinel_ports:
                with self._client(port) as client:
                    state = client.execute_command("SENTINEL", "MASTER", self.name)
                    fields = dict(zip(state[::2], state[1::2], strict=True))
                    if (
                        int(fields["num-other-sentinels"]) != SENTINELS - 1
                        or int(fields["num-slaves"]) < DATA_NODES - 1
                        or fields["flags"] != "master"
                        or int(fields["port"]) != master
                    ):
                        return False
                    replies = client.execute_command("SENTINEL", "REPLICAS", self.name)
                    for reply in replies:
                        replica = dict(zip(reply[::2], reply[1::2], strict=True))
                        if (
                            replica["master-link-status"] != "ok"
                            or int(replica["info-refresh"]) > 10_000
                            or replica["flags"] != "slave"
                        ):
                            return False
        except (redis.RedisError, KeyError, ValueError):
            return False
        return True

    # -- waiting -----------------------------------------------------------------------

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 60.0) -> float:
        """Poll `check` until true; fail with the servers' log tails. Returns the seconds."""
        return wait_for("Sentinel test set", self._processes, what, check, timeout)

    def wait_until_settled(self, timeout: float = 60.0) -> float:
        return self.wait_for("one agreed master with two linked replicas", self.is_settled, timeout)


# -- starting and stopping ---------------------------------------------------------------


def _spawn(name: str, conf: Path, base: Path, *mode: str) -> Process:
    log = base / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            [str(REDIS_SERVER), str(conf), *mode],
            cwd=base,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # teardown signals it alone, never our group
            env={"PATH": "/usr/bin:/bin", "HOME": str(base), "LANG": "C.UTF-8"},
        )
    return Process(name, popen, log)


def _data_conf(base: Path, port: int, master: int | None, password: str) -> Path:
    node = base / f"node-{port}"
    node.mkdir()
    lines = [
        f"port {port}",
        "bind 127.0.0.1",
        "daemonize no",
        f"dir {node}",
        'save ""',
        "appendonly no",
        "repl-diskless-sync no",
        f"user {USER} on >{password} {ACL_DATA}",
    ]
    if master is not None:
        lines.append(f"replicaof 127.0.0.1 {master}")
    conf = base / f"node-{port}.conf"
    conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return conf


def _sentinel_conf(base: Path, port: int, name: str, master: int, password: str) -> Path:
    lines = [
        f"port {port}",
        "bind 127.0.0.1",
        "daemonize no",
        f"dir {base}",
        # Short timings: a down master is noticed in 2 s, a failover gives up after 10 s.
        f"sentinel monitor {name} 127.0.0.1 {master} {QUORUM}",
        f"sentinel down-after-milliseconds {name} 2000",
        f"sentinel failover-timeout {name} 10000",
        f"sentinel parallel-syncs {name} 2",
        f"user {USER} on >{password} {ACL_SENTINEL}",
    ]
    conf = base / f"sentinel-{port}.conf"  # Sentinel rewrites its own file: keep it writable
    conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return conf


def start_cluster() -> SentinelCluster:
    if not REDIS_SERVER.exists():
        need_real(f"the Sentinel test set needs {REDIS_SERVER} (apt-get install redis-server)")
    base = Path(tempfile.mkdtemp(prefix="wk-sentinel-"))
    ports = free_ports(DATA_NODES + SENTINELS)
    cluster = SentinelCluster(
        name=MASTER_NAME,
        data_ports=ports[:DATA_NODES],
        sentinel_ports=ports[DATA_NODES:],
        password=secrets.token_urlsafe(18),
        base_dir=base,
    )
    master = cluster.data_ports[0]
    try:
        for port in cluster.data_ports:
            conf = _data_conf(base, port, None if port == master else master, cluster.password)
            cluster._processes.append(_spawn(f"redis-{port}", conf, base))
        for port in cluster.sentinel_ports:
            conf = _sentinel_conf(base, port, cluster.name, master, cluster.password)
            cluster._processes.append(_spawn(f"sentinel-{port}", conf, base, "--sentinel"))
        cluster.wait_until_settled(START_SECONDS)
    except BaseException:
        stop_cluster(cluster)
        raise
    return cluster


def stop_cluster(cluster: SentinelCluster) -> None:
    for process in cluster._processes:
        if process.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.popen.send_signal(signal.SIGTERM)
    for process in cluster._processes:
        try:
            process.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                process.popen.kill()
            process.popen.wait(timeout=5)
    shutil.rmtree(cluster.base_dir, ignore_errors=True)


_RUNNING: SentinelCluster | None = None


@pytest.fixture(scope="session", name="sentinel_cluster")
def sentinel_cluster_fixture(request: pytest.FixtureRequest) -> Iterator[SentinelCluster]:
    """The session's Sentinel set, started on first use, settled when handed out; the
    `watchkeeper` user's password is in the environment variable the config names."""
    global _RUNNING
    if _RUNNING is None:
        try:
            _RUNNING = start_cluster()
        except pytest.fail.Exception:
            # Once more on fresh ports: a free port can be taken between choosing and binding.
            _RUNNING = start_cluster()
        os.environ[PASSWORD_ENV] = _RUNNING.password

        def _stop() -> None:
            global _RUNNING
            if _RUNNING is not None:
                stop_cluster(_RUNNING)
                _RUNNING = None
            os.environ.pop(PASSWORD_ENV, None)

        request.config.add_cleanup(_stop)
    _RUNNING.wait_until_settled()
    yield _RUNNING
