"""A real two-node Patroni cluster with etcd on loopback, for integration tests.

Use it from a test module by importing the fixture function (the fixture's name is
`patroni_cluster`, so the import does not shadow the test parameter):

    from tests.patroni_cluster import PatroniCluster, patroni_cluster_fixture  # noqa: F401

    def test_x(patroni_cluster: PatroniCluster) -> None: ...

The cluster is started once per test session, whichever modules ask for it (a
module-level singleton; torn down when pytest unconfigures), because starting it costs
seconds. Tests that change it (pause, switchover) put it back or wait for it to settle
with `wait_until_healthy()`.

PostgreSQL refuses to run as root, so when the tests run as root, etcd and Patroni run
as the `postgres` OS user in a temporary directory that user owns. Every port is a free
loopback port (5432 is the machine's own PostgreSQL); the scope name is unique per run.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import need_real
from tests.real_processes import Process, free_ports, logs_tail, wait_for

ETCD = Path("/usr/bin/etcd")
PATRONI = Path("/usr/bin/patroni")
PATRONICTL = Path("/usr/bin/patronictl")
PG_BIN = Path("/usr/lib/postgresql/15/bin")
RUN_AS = "postgres"
START_SECONDS = 60.0
STOP_SECONDS = 20.0
LOG_TAIL_LINES = 25
MEMBERS = ("pg0", "pg1")
PASSWORD_VARIABLE = "WK_TEST_PATRONI_PASSWORD"


@dataclass
class PatroniCluster:
    """What a test needs to reach the cluster, and helpers to read and wait on it."""

    name: str
    members: tuple[str, ...]
    rest_urls: dict[str, str]  # member name -> REST API base URL
    username: str
    password: str
    pg_ports: dict[str, int]
    etcd_url: str
    base_dir: Path
    started_seconds: float = 0.0
    _processes: list[Process] = field(default_factory=list, repr=False)

    @property
    def urls(self) -> list[str]:
        return [self.rest_urls[m] for m in self.members]

    def backend_config(self, name: str = "patroni") -> dict[str, Any]:
        """The `fleet.backends` entry of `app.yaml` that points Watchkeeper at this cluster;
        its password comes from the environment (`env`), as app.yaml requires."""
        return {
            "name": name,
            "type": "patroni",
            "services": [self.name],
            "clusters": {self.name: self.urls},
            "username": self.username,
            "password": "${" + PASSWORD_VARIABLE + "}",
        }

    @property
    def env(self) -> dict[str, str]:
        """The environment the bot reads `backend_config()`'s password from."""
        return {PASSWORD_VARIABLE: self.password}

    # -- reading -----------------------------------------------------------------------

    def cluster(self) -> dict[str, Any]:
        """`GET /cluster` from the first member that answers."""
        problems = []
        for url in self.urls:
            try:
                answer = httpx.get(f"{url}/cluster", timeout=3)
                answer.raise_for_status()
                body: dict[str, Any] = answer.json()
                return body
            except (httpx.HTTPError, ValueError) as exc:
                problems.append(f"{url}: {type(exc).__name__}")
        raise RuntimeError("no Patroni member answers /cluster: " + "; ".join(problems))

    def leader(self) -> str | None:
        with contextlib.suppress(RuntimeError):
            for member in self.cluster()["members"]:
                if member.get("role") == "leader" and member.get("state") == "running":
                    return str(member["name"])
        return None

    def replicas(self) -> list[str]:
        return [str(m["name"]) for m in self.cluster()["members"] if m.get("role") != "leader"]

    def is_healthy(self) -> bool:
        """A running leader and every other member a streaming replica with a known lag."""
        try:
            body = self.cluster()
        except RuntimeError:
            return False
        members = body.get("members", [])
        leaders = [m for m in members if m.get("role") == "leader" and m.get("state") == "running"]
        replicas = [
            m
            for m in members
            if m.get("role") in ("replica", "sync_standby")
            and m.get("state") in ("running", "streaming")
            and isinstance(m.get("lag"), int)
        ]
        return (
            len(members) == len(self.members)
            and len(leaders) == 1
            and (len(replicas) == len(self.members) - 1)
        )

    # -- waiting -----------------------------------------------------------------------

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 60.0) -> float:
        """Poll `check` until true; fail with the Patroni logs' tail. Returns the seconds."""
        return wait_for("Patroni test cluster", self._processes, what, check, timeout)

    def wait_until_healthy(self, timeout: float = 60.0) -> float:
        return self.wait_for("a leader and a streaming replica", self.is_healthy, timeout)

    def logs_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return logs_tail(self._processes, lines)


# -- starting and stopping ---------------------------------------------------------------


def _owner() -> tuple[int, int] | None:
    """The uid/gid to run as: `postgres` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(RUN_AS)
    except KeyError:
        need_real(f"running as root and there is no '{RUN_AS}' OS user to run PostgreSQL as")
    return entry.pw_uid, entry.pw_gid


def _check_binaries() -> None:
    missing = [
        str(p) for p in (ETCD, PATRONI, PG_BIN / "postgres", PG_BIN / "initdb") if not p.exists()
    ]
    if missing:
        need_real(
            "Patroni test cluster needs "
            + ", ".join(missing)
            + " (apt-get install patroni etcd-server postgresql-15)"
        )


def _spawn(name: str, argv: list[str], base: Path, owner: tuple[int, int] | None) -> Process:
    log = base / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            argv,
            cwd=base,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Its own session: teardown signals the whole group, and a Ctrl-C in the
            # terminal does not reach it before we stop it in order.
            start_new_session=True,
            # Not our environment: it may hold secrets the children have no use for.
            env={"PATH": "/usr/bin:/bin", "HOME": str(base), "LANG": "C.UTF-8"},
            user=owner[0] if owner else None,
            group=owner[1] if owner else None,
            extra_groups=[] if owner else None,
        )
    if owner:
        os.chown(log, *owner)
    return Process(name, popen, log)


def _patroni_config(
    scope: str, member: str, base: Path, rest_port: int, pg_port: int, etcd_url: str, password: str
) -> dict[str, Any]:
    data = base / member
    return {
        "scope": scope,
        "namespace": "/watchkeeper-test/",
        "name": member,
        "log": {"level": "INFO"},
        "restapi": {
            "listen": f"127.0.0.1:{rest_port}",
            "connect_address": f"127.0.0.1:{rest_port}",
            "authentication": {"username": "watchkeeper", "password": password},
        },
        "etcd3": {"hosts": [etcd_url.removeprefix("http://")]},
        "bootstrap": {
            "dcs": {
                # Short timings so a switchover or a failover takes seconds, not a minute.
                "ttl": 10,
                "loop_wait": 2,
                "retry_timeout": 5,
                "maximum_lag_on_failover": 1048576,
                "postgresql": {
                    "use_pg_rewind": True,
                    "use_slots": True,
                    "parameters": {
                        "max_connections": 20,
                        "max_wal_senders": 5,
                        "max_replication_slots": 5,
                        "wal_log_hints": "on",
                    },
                },
            },
            "initdb": [{"encoding": "UTF8"}, {"locale": "C"}],
        },
        "postgresql": {
            "listen": f"127.0.0.1:{pg_port}",
            "connect_address": f"127.0.0.1:{pg_port}",
            "data_dir": str(data / "data"),
            "bin_dir": str(PG_BIN),
            "pgpass": str(data / "pgpass"),
            "authentication": {
                "superuser": {"username": "postgres", "password": "wk-superuser"},
                "replication": {"username": "replicator", "password": "wk-replicator"},
            },
            "parameters": {
                # The machine's /var/run/postgresql belongs to its own server.
                "unix_socket_directories": str(data),
                "shared_buffers": "16MB",
                # Throwaway data: durability only costs time here.
                "fsync": "off",
                "synchronous_commit": "off",
            },
            "pg_hba": [
                "local all all trust",
                "host replication replicator 127.0.0.1/32 scram-sha-256",
                "host all all 127.0.0.1/32 scram-sha-256",
            ],
        },
        "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False},
    }


def _wait_for_etcd(url: str, process: Process) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            break
        with contextlib.suppress(httpx.HTTPError, ValueError):
            if httpx.get(f"{url}/health", timeout=1).json().get("health") == "true":
                return
        time.sleep(0.1)
    log = process.log.read_text(encoding="utf-8", errors="replace").splitlines()[-LOG_TAIL_LINES:]
    pytest.fail("Patroni test cluster: etcd did not become healthy\n" + "\n".join(log))


def start_cluster() -> PatroniCluster:
    _check_binaries()
    owner = _owner()
    started = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="wk-patroni-"))
    scope = f"wk-{os.getpid()}-{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(18)
    etcd_client, etcd_peer, *ports = free_ports(2 + 2 * len(MEMBERS))
    etcd_url = f"http://127.0.0.1:{etcd_client}"
    cluster = PatroniCluster(
        name=scope,
        members=MEMBERS,
        rest_urls={m: f"http://127.0.0.1:{ports[2 * i]}" for i, m in enumerate(MEMBERS)},
        username="watchkeeper",
        password=password,
        pg_ports={m: ports[2 * i + 1] for i, m in enumerate(MEMBERS)},
        etcd_url=etcd_url,
        base_dir=base,
    )
    try:
        if owner:
            os.chown(base, *owner)
        etcd = _spawn(
            "etcd",
            [
                str(ETCD),
                "--name=wk",
                f"--data-dir={base / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-cluster=wk=http://127.0.0.1:{etcd_peer}",
                "--initial-cluster-state=new",
                "--log-level=warn",
                "--logger=zap",
            ],
            base,
            owner,
        )
        cluster._processes.append(etcd)
        _wait_for_etcd(etcd_url, etcd)
        for i, member in enumerate(MEMBERS):
            (base / member).mkdir(mode=0o700)
            config_file = base / f"{member}.yml"
            config = _patroni_config(
                scope, member, base, ports[2 * i], ports[2 * i + 1], etcd_url, password
            )
            config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
            config_file.chmod(0o600)
            if owner:
                os.chown(base / member, *owner)
                os.chown(config_file, *owner)
            # Both at once: one wins the initialize race, the other clones from it.
            cluster._processes.append(_spawn(member, [str(PATRONI), str(config_file)], base, owner))
        cluster.wait_until_healthy(START_SECONDS)
    except BaseException:
        stop_cluster(cluster)
        raise
    cluster.started_seconds = time.monotonic() - started
    return cluster


def _postmaster_pids(base: Path) -> list[int]:
    pids = []
    for member in MEMBERS:
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = (base / member / "data" / "postmaster.pid").read_text()
            pids.append(int(text.splitlines()[0]))
    return pids


def _kill_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        group = os.getpgid(pid)
        if group != os.getpgid(0):  # never our own group, whatever happens
            os.killpg(group, sig)


def stop_cluster(cluster: PatroniCluster) -> None:
    """Patroni first (it stops PostgreSQL cleanly), then etcd; SIGKILL what lingers."""
    patronis = [p for p in cluster._processes if p.name != "etcd"]
    etcds = [p for p in cluster._processes if p.name == "etcd"]
    for group in (patronis, etcds):
        for process in group:
            if process.popen.poll() is None:
                _kill_group(process.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in group:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            _kill_group(process.popen.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=5)
        if group is patronis:
            # The postmaster runs in a session of its own (Patroni calls setsid), so a
            # Patroni that died hard leaves it behind; its backends follow it.
            for pid in _postmaster_pids(cluster.base_dir):
                _kill_group(pid, signal.SIGKILL)
    shutil.rmtree(cluster.base_dir, ignore_errors=True)


_RUNNING: PatroniCluster | None = None


@pytest.fixture(scope="session", name="patroni_cluster")
def patroni_cluster_fixture(request: pytest.FixtureRequest) -> Iterator[PatroniCluster]:
    """The session's Patroni cluster, started on first use, healthy when handed out."""
    global _RUNNING
    if _RUNNING is None:
        try:
            _RUNNING = start_cluster()
        except pytest.fail.Exception:
            # Once more on fresh ports: a free port can be taken between choosing and binding.
            _RUNNING = start_cluster()

        def _stop() -> None:
            global _RUNNING
            if _RUNNING is not None:
                stop_cluster(_RUNNING)
                _RUNNING = None

        # At the end of the session, however many modules imported this fixture.
        request.config.add_cleanup(_stop)
    yield _RUNNING
