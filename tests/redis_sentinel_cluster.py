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
    password_env: str = PASSWORD_ENV
    # Every server speaks TLS only, and asks clients for a certificate of the test CA.
    tls: bool = False
    _processes: list[Process] = field(default_factory=list, repr=False)

    def tls_files(self, *names: str) -> list[str]:
        return [str(self.base_dir / "tls" / n) for n in names]

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
            "password_env": self.password_env,
            "timeout_seconds": 2,
            **(self._tls_config() if self.tls else {}),
            **extra,
        }

    def _tls_config(self) -> dict[str, Any]:
        ca, cert, key = self.tls_files("ca.pem", "client.pem", "client.key")
        return {"tls": {"ca_file": ca, "cert_file": cert, "key_file": key}}

    # -- reading, as the default user --------------------------------------------------

    def _client(self, port: int) -> redis.Redis:
        tls: dict[str, Any] = {}
        if self.tls:
            ca, cert, key = self.tls_files("ca.pem", "client.pem", "client.key")
            tls = {"ssl": True, "ssl_ca_certs": ca, "ssl_certfile": cert, "ssl_keyfile": key}
        return redis.Redis(
            host="127.0.0.1", port=port, socket_timeout=2, decode_responses=True, protocol=2, **tls
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


def _listen(base: Path, port: int, tls: bool) -> list[str]:
    if not tls:
        return [f"port {port}"]
    d = base / "tls"
    return [
        "port 0",
        f"tls-port {port}",
        f"tls-cert-file {d / 'server.pem'}",
        f"tls-key-file {d / 'server.key'}",
        f"tls-ca-cert-file {d / 'ca.pem'}",
        "tls-auth-clients yes",
        "tls-replication yes",  # replicas and Sentinels connect over TLS too
    ]


def _make_certificates(base: Path) -> None:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate."""
    if shutil.which("openssl") is None:
        need_real("the TLS Sentinel test set needs the openssl command")
    d = base / "tls"
    d.mkdir()
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n", encoding="utf-8")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=watchkeeper-test-ca",
    )
    for who, ext in (("server", ["-extfile", "san.ext"]), ("client", [])):
        openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{who}.key",
            "-out",
            f"{who}.csr",
            "-subj",
            f"/CN=watchkeeper-test-{who}",
        )
        openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "1", "-out", f"{who}.pem", *ext)  # fmt: skip


def _data_conf(base: Path, port: int, master: int | None, password: str, tls: bool) -> Path:
    node = base / f"node-{port}"
    node.mkdir()
    lines = [
        *_listen(base, port, tls),
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


def _sentinel_conf(base: Path, port: int, name: str, master: int, password: str, tls: bool) -> Path:
    lines = [
        *_listen(base, port, tls),
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


def start_cluster(*, tls: bool = False, password_env: str = PASSWORD_ENV) -> SentinelCluster:
    if not REDIS_SERVER.exists():
        need_real(f"the Sentinel test set needs {REDIS_SERVER} (apt-get install redis-server)")
    base = Path(tempfile.mkdtemp(prefix="wk-sentinel-"))
    if tls:
        _make_certificates(base)
    ports = free_ports(DATA_NODES + SENTINELS)
    cluster = SentinelCluster(
        name=MASTER_NAME,
        data_ports=ports[:DATA_NODES],
        sentinel_ports=ports[DATA_NODES:],
        password=secrets.token_urlsafe(18),
        base_dir=base,
        password_env=password_env,
        tls=tls,
    )
    master = cluster.data_ports[0]
    try:
        for port in cluster.data_ports:
            upstream = None if port == master else master
            conf = _data_conf(base, port, upstream, cluster.password, tls)
            cluster._processes.append(_spawn(f"redis-{port}", conf, base))
        for port in cluster.sentinel_ports:
            conf = _sentinel_conf(base, port, cluster.name, master, cluster.password, tls)
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


_RUNNING: dict[bool, SentinelCluster] = {}
TLS_PASSWORD_ENV = "WK_TEST_REDIS_TLS_PASSWORD"


def _session_set(request: pytest.FixtureRequest, tls: bool) -> SentinelCluster:
    """The session's set (plain or TLS), started on first use, settled when handed out;
    the `watchkeeper` user's password is in the environment variable the config names."""
    if tls not in _RUNNING:
        env = TLS_PASSWORD_ENV if tls else PASSWORD_ENV
        try:
            cluster = start_cluster(tls=tls, password_env=env)
        except pytest.fail.Exception:
            # Once more on fresh ports: a free port can be taken between choosing and binding.
            cluster = start_cluster(tls=tls, password_env=env)
        _RUNNING[tls] = cluster
        os.environ[env] = cluster.password

        def _stop() -> None:
            stop_cluster(_RUNNING.pop(tls))
            os.environ.pop(env, None)

        request.config.add_cleanup(_stop)
    _RUNNING[tls].wait_until_settled()
    return _RUNNING[tls]


@pytest.fixture(scope="session", name="sentinel_cluster")
def sentinel_cluster_fixture(request: pytest.FixtureRequest) -> Iterator[SentinelCluster]:
    yield _session_set(request, tls=False)


@pytest.fixture(scope="session", name="sentinel_tls_cluster")
def sentinel_tls_cluster_fixture(request: pytest.FixtureRequest) -> Iterator[SentinelCluster]:
    """The same set, every server speaking TLS only with client certificates required."""
    yield _session_set(request, tls=True)
