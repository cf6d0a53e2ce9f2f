"""The real Alertmanager binary, run on a loopback port for tests and benchmarks.

Clustering is switched off (`--cluster.listen-address=`) so a run never gossips with
another Alertmanager on the machine, and storage lives in a directory the caller owns.
The webhook receiver, its credentials and the grouping timers are the caller's choice,
so a test can make Alertmanager deliver within a second or two.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

BINARY_NAMES = ("prometheus-alertmanager", "alertmanager")


def find_binary() -> str | None:
    """The Debian package's `prometheus-alertmanager`, or upstream's `alertmanager`."""
    for name in BINARY_NAMES:
        found = shutil.which(name) or (
            f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None
        )
        if found:
            return found
    return None


@dataclass(frozen=True)
class WebhookReceiver:
    """Where Alertmanager sends notifications, and how it authenticates there."""

    url: str
    bearer_token: str | None = None
    basic: tuple[str, str] | None = None
    send_resolved: bool = True
    max_alerts: int = 0


@dataclass(frozen=True)
class Timers:
    group_wait: str = "1s"
    group_interval: str = "1s"
    repeat_interval: str = "1h"
    resolve_timeout: str = "5m"
    group_by: tuple[str, ...] = ("alertname", "service")


def render_config(receiver: WebhookReceiver | None, timers: Timers = Timers()) -> str:
    """An alertmanager.yml routing everything to `receiver` (or to nowhere when None)."""
    receivers: list[dict[str, Any]] = [{"name": "null"}]
    if receiver is not None:
        http_config: dict[str, Any] = {}
        if receiver.bearer_token is not None:
            http_config["authorization"] = {
                "type": "Bearer",
                "credentials": receiver.bearer_token,
            }
        if receiver.basic is not None:
            http_config["basic_auth"] = {
                "username": receiver.basic[0],
                "password": receiver.basic[1],
            }
        webhook: dict[str, Any] = {
            "url": receiver.url,
            "send_resolved": receiver.send_resolved,
            "max_alerts": receiver.max_alerts,
        }
        if http_config:
            webhook["http_config"] = http_config
        receivers.append({"name": "watchkeeper", "webhook_configs": [webhook]})
    config = {
        "global": {"resolve_timeout": timers.resolve_timeout},
        "route": {
            "receiver": "watchkeeper" if receiver is not None else "null",
            "group_by": list(timers.group_by),
            "group_wait": timers.group_wait,
            "group_interval": timers.group_interval,
            "repeat_interval": timers.repeat_interval,
        },
        "receivers": receivers,
    }
    return yaml.safe_dump(config, sort_keys=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class AlertmanagerProcess:
    """`async with AlertmanagerProcess(binary, workdir, receiver) as am: am.url ...`"""

    binary: str
    workdir: Path
    receiver: WebhookReceiver | None = None
    timers: Timers = field(default_factory=Timers)
    port: int = 0
    _process: asyncio.subprocess.Process | None = None
    _log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "alertmanager.log"

    async def start(self, ready_within: float = 20.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "alertmanager.yml"
        config.write_text(render_config(self.receiver, self.timers))
        self.port = self.port or _free_port()
        self._log = self.log_path.open("wb")
        self._process = await asyncio.create_subprocess_exec(
            self.binary,
            f"--config.file={config}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",
            "--log.level=warn",
            stdout=self._log,
            stderr=self._log,
        )
        await self._wait_ready(ready_within)

    async def _wait_ready(self, ready_within: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ready_within
        async with httpx.AsyncClient(timeout=1.0) as http:
            while loop.time() < deadline:
                assert self._process is not None
                if self._process.returncode is not None:
                    raise RuntimeError(
                        f"alertmanager exited with {self._process.returncode}: {self.log_tail()}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.url}/-/ready")).status_code == 200:
                        return
                await asyncio.sleep(0.05)
        await self.stop()
        raise RuntimeError(f"alertmanager not ready within {ready_within}s: {self.log_tail()}")

    def log_tail(self, size: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return ""

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    async def __aenter__(self) -> AlertmanagerProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
