"""Real OS processes for the multi-process tests: the Slack stand-in, the fleet simulator,
and `watchkeeper serve` replicas sharing one PostgreSQL database.

Each process logs to a file; `show_logs()` prints the tails, so a failing test shows what
every process said. A bot process can be killed (SIGKILL), stopped (SIGTERM) and started
again on the same port and config, as a service manager would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.load import free_port
from bot.db.models import LeaderLease, OutboxMessage
from integrations.slack.sender import SlackSender
from tests.conftest import shipped_permissions

ROOT = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "process-signing-secret"
AUDIT_KEY = "process-audit-key-0123456789"
AM_TOKEN = "process-am-token"
CHANNEL = "C0DEMO001"
T = TypeVar("T")
S = TypeVar("S", bound="ServiceProcess")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], within: float = 15.0, what: str = "it"
) -> T:
    """The first truthy answer of `probe`, polled until `within` seconds have passed."""
    deadline = time.monotonic() + within
    while True:
        found = await probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within}s")
        await asyncio.sleep(0.05)


class ServiceProcess:
    """One child process listening on `port`, its output in `log_path`."""

    def __init__(self, name: str, command: list[str], port: int, log_dir: Path) -> None:
        self.name = name
        self.command = command
        self.port = port
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        # An installed copy runs elsewhere, on its own environment (test_installed_wheel).
        self.cwd = ROOT
        self.env: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        env = {
            **os.environ,
            "WATCHKEEPER_AUDIT_KEY": AUDIT_KEY,
            "PYTHONUNBUFFERED": "1",
            **self.env,
        }
        with self.log_path.open("ab") as log:
            log.write(f"--- start: {' '.join(self.command)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    async def wait_ready(self, path: str = "/", within: float = 30.0) -> float:
        """Seconds until `path` answers 200 (AssertionError, with the log, if it never does)."""
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=1.0) as http:

            async def ready() -> bool:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise AssertionError(f"{self.name} exited early:\n{self.log_tail()}")
                try:
                    return (await http.get(self.url + path)).status_code == 200
                except httpx.HTTPError:
                    return False

            await eventually(ready, within, f"{self.name} ready")
        return time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or released."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    async def terminate(self, within: float = 30.0) -> tuple[int, float]:
        """SIGTERM, then (exit code, seconds until the process was gone)."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        while self.process.poll() is None:
            if time.monotonic() - started > within:
                self.process.kill()
                raise AssertionError(f"{self.name} still running {within}s after SIGTERM")
            await asyncio.sleep(0.02)
        return self.process.returncode, time.monotonic() - started

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log_count(self, *parts: str) -> int:
        """Lines of the log so far holding each of `parts`. The log outlives restarts and
        tests: compare with a count taken earlier."""
        if not self.log_path.exists():
            return 0
        lines = self.log_path.read_text(errors="replace").splitlines()
        return sum(all(part in line for part in parts) for line in lines)

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no log)"
        # The scheduler logs each job run; what went wrong is in the other lines.
        said = [
            line
            for line in self.log_path.read_text(errors="replace").splitlines()
            if "apscheduler.executors" not in line
        ]
        return "\n".join(said[-lines:])


def show_logs(*processes: ServiceProcess) -> None:
    """Printed at teardown: pytest shows it when the test failed."""
    for process in processes:
        print(f"===== {process.name} ({process.log_path}) =====\n{process.log_tail()}")


@contextmanager
def serving(process: S, ready_path: str) -> Iterator[S]:
    """`process` started and answering `ready_path`, stopped when the block ends."""
    process.start()
    try:
        asyncio.run(process.wait_ready(ready_path))
        yield process
    finally:
        process.stop()


def module_command(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


class StandInProcess(ServiceProcess):
    """`python -m standins.slack`, read through its `/_standin` routes."""

    def __init__(self, log_dir: Path) -> None:
        port = free_port()
        command = module_command("standins.slack", "--port", str(port))
        super().__init__("slack-standin", command, port, log_dir)

    async def _get(self, path: str, **params: Any) -> dict[str, Any]:
        async with httpx.AsyncClient() as http:
            answer = await http.get(self.url + path, params=params)
            answer.raise_for_status()
            found: dict[str, Any] = answer.json()
            return found

    async def calls(self, method: str) -> list[dict[str, Any]]:
        """Calls of `method` Slack's side answered (faulted ones included, with `error`)."""
        found: list[dict[str, Any]] = (await self._get("/_standin/calls", method=method))["calls"]
        return found

    async def posts(self, channel: str) -> list[dict[str, Any]]:
        """Successful `chat.postMessage` calls to `channel` (a user id for a DM)."""
        calls = await self.calls("chat.postMessage")
        return [c for c in calls if c["error"] is None and c["payload"].get("channel") == channel]

    async def events(self, channel: str | None = None) -> list[dict[str, Any]]:
        params = {"channel": channel} if channel else {}
        found: list[dict[str, Any]] = (await self._get("/_standin/messages", **params))["events"]
        return found

    async def set_fault(self, spec: dict[str, Any]) -> None:
        async with httpx.AsyncClient() as http:
            (await http.post(self.url + "/_standin/faults", json=spec)).raise_for_status()

    def response_url(self, channel: str, user: str) -> str:
        # Synchronous: SlackSender asks for it while building a request body.
        answer = httpx.post(
            self.url + "/_standin/response_urls", json={"channel": channel, "user": user}
        )
        answer.raise_for_status()
        return str(answer.json()["response_url"])

    async def responses(self, user: str, *, since: int = 0) -> list[dict[str, Any]]:
        """What was posted to response_urls of `user`'s interactions, after event `since`."""
        events = await self.events()
        return [
            e for e in events if e["kind"] == "response" and e["user"] == user and e["seq"] > since
        ]

    async def last_event(self) -> int:
        events = await self.events()
        return int(events[-1]["seq"]) if events else 0


class FleetProcess(ServiceProcess):
    """`python -m standins.fleet.simulator`, with its `/_sim` control panel."""

    def __init__(self, log_dir: Path) -> None:
        port = free_port()
        command = module_command("standins.fleet.simulator", "--port", str(port))
        super().__init__("fleet-simulator", command, port, log_dir)

    async def operations(self, service: str) -> list[dict[str, Any]]:
        async with httpx.AsyncClient() as http:
            answer = await http.get(self.url + "/v1/operations", params={"service": service})
            answer.raise_for_status()
            items: list[dict[str, Any]] = answer.json()["items"]
            return items

    async def set_faults(self, body: dict[str, Any] | None) -> None:
        """`None` clears every fault."""
        async with httpx.AsyncClient() as http:
            if body is None:
                answer = await http.delete(self.url + "/_sim/faults")
            else:
                answer = await http.post(self.url + "/_sim/faults", json=body)
            answer.raise_for_status()


def bot_config(
    path: Path, *, db_url: str, standin: StandInProcess, fleet: FleetProcess, **sections: Any
) -> Path:
    """An app.yaml for replicas of one deployment: short leases and drains for tests;
    each of `sections` is laid over the default section of that name."""
    raw: dict[str, Any] = {
        "slack": {
            "signing_secret": SIGNING_SECRET,
            "bot_token": "xoxb-process-test",
            "api_url": standin.url + "/api/",
        },
        "storage": {"url": db_url},
        "fleet": {"backends": [{"name": "fleet", "type": "http", "url": fleet.url}]},
        "channels": {"default": CHANNEL},
        "roles": {
            "responder": {"users": ["UALICE01", "UBOB0002"]},
            "auditor": {"users": ["UCAROL03"]},
        },
        "permissions": shipped_permissions(),
        "policies": {
            "rules": [{"actions": ["restart"], "resources": ["*"], "roles": ["responder"]}],
            "tracking_interval_seconds": 0.5,
            "reconcile_after_seconds": 1,
        },
        "audit": {"key": "${WATCHKEEPER_AUDIT_KEY}", "checkpoint_file": None},
        "outbox": {"per_channel_interval_seconds": 0.05, "max_backoff_seconds": 1},
        "scheduler": {"lease_seconds": 2, "renew_seconds": 0.5},
        "server": {"drain_seconds": 5},
        "intake": {"alertmanager": {"auth": {"bearer_tokens": [AM_TOKEN]}}},
        # `wait_for_job_runs` counts the scheduler's own lines, quiet by default.
        "logging": {"loggers": {"apscheduler": "info"}},
    }
    for name, section in sections.items():
        raw[name] = {**raw.get(name, {}), **section}
    path.write_text(yaml.safe_dump(raw))
    return path


class BotProcess(ServiceProcess):
    """`python -m bot.cli serve --config PATH --port P`: one replica."""

    def __init__(self, name: str, config: Path, log_dir: Path) -> None:
        port = free_port()
        command = module_command("bot.cli", "serve", "--config", str(config), "--port", str(port))
        super().__init__(name, command, port, log_dir)

    @property
    def replica(self) -> str:
        """The name this replica goes by in leases (bot.composition.replica_id)."""
        return f"{os.uname().nodename}:{self.pid}"

    async def start_ready(self) -> float:
        self.start()
        return await self.wait_ready("/readyz")

    def sender(self, standin: StandInProcess, url: str | None = None) -> SlackSender:
        """Slack's side of this replica's request URL (or of `url`, a proxy in front)."""
        return SlackSender(
            (url or self.url) + "/slack/events",
            SIGNING_SECRET,
            response_url_for=standin.response_url,
        )


class Replicas:
    """The bot processes of one test, all stopped (and their logs shown) at teardown."""

    def __init__(self, log_dir: Path, standin: StandInProcess, fleet: FleetProcess) -> None:
        self.log_dir = log_dir
        self.standin = standin
        self.fleet = fleet
        self.bots: list[BotProcess] = []

    def config(self, db_url: str, **sections: Any) -> Path:
        """The test's app.yaml (`bot_config` with this group's stand-in and fleet)."""
        path = self.log_dir / "app.yaml"
        return bot_config(path, db_url=db_url, standin=self.standin, fleet=self.fleet, **sections)

    def make(self, name: str, config: Path) -> BotProcess:
        bot = BotProcess(name, config, self.log_dir)
        self.bots.append(bot)
        return bot

    async def start(self, *bots: BotProcess) -> list[float]:
        """Start together, as a deployment would; seconds each took to be ready."""
        return list(await asyncio.gather(*(b.start_ready() for b in bots)))

    def stop(self) -> None:
        for bot in self.bots:
            bot.stop()
        show_logs(*self.bots, self.standin, self.fleet)


async def count(db: AsyncEngine, model: Any, *where: Any) -> int:
    async with db.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def leader(db: AsyncEngine) -> str | None:
    async with db.connect() as conn:
        row = (await conn.execute(select(LeaderLease.owner, LeaderLease.expires_at))).one_or_none()
    if row is None or row.expires_at < datetime.now(UTC):
        return None
    return str(row.owner)


async def next_job_runs(bot: ServiceProcess, job: str, runs: int = 1, within: float = 15.0) -> None:
    """Return once `runs` runs of the scheduled job `job` begun after this call have
    finished on `bot`, as APScheduler logs them by the job's name. Only the leader's runs
    do anything: a follower's are logged all the same."""
    began = bot.log_count(f'Running job "{job} (')
    finished = bot.log_count(f'Job "{job} (', "executed successfully")
    target = finished + (began - finished) + runs  # a run under way now does not count

    async def done() -> bool:
        return bot.log_count(f'Job "{job} (', "executed successfully") >= target

    await eventually(done, within, f"{runs} more runs of {job} on {bot.name}")


async def outbox_delivered(db: AsyncEngine, within: float = 30.0) -> None:
    """Every message queued so far has gone to Slack (or failed for good). A handoff now
    also refreshes each person's App Home, paced per person: on a loaded machine that
    takes longer than one post."""

    async def empty() -> bool:
        undelivered = OutboxMessage.status.in_(("pending", "sending"))
        return not await count(db, OutboxMessage, undelivered)

    await eventually(empty, within, "the outbox draining")


def figure(name: str, value: float, unit: str) -> None:
    print(f"FIGURE {name}: {value:.2f} {unit}")
