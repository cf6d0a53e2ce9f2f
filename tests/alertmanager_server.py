"""A pytest fixture running the real Alertmanager (Debian `prometheus-alertmanager`) on a
free loopback port, clustering off, with a webhook receiver the test names:

    from tests.alertmanager_server import start_alertmanager_fixture  # noqa: F401

    async def test_x(start_alertmanager):
        am = await start_alertmanager("http://127.0.0.1:8780/hooks/alertmanager")
        async with am.client() as client:
            await client.post_alerts([...])

Grouping timers default to one second so deliveries arrive within a few seconds; the
receiver authenticates with `Authorization: Bearer am-token` unless told otherwise. A
missing binary skips the test, or fails it under WATCHKEEPER_REQUIRE_REAL=1.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from integrations.alertmanager import AlertmanagerClient
from standins.alertmanager import (
    AlertmanagerProcess,
    Timers,
    WebhookReceiver,
    find_binary,
)
from tests.conftest import need_real

DEFAULT_TOKEN = "am-token"


@dataclass
class RunningAlertmanager:
    process: AlertmanagerProcess

    @property
    def url(self) -> str:
        return self.process.url

    def client(self) -> AlertmanagerClient:
        return AlertmanagerClient(self.url, timeout=5.0)

    def log_tail(self) -> str:
        return self.process.log_tail()


StartAlertmanager = Callable[..., Awaitable[RunningAlertmanager]]


@pytest.fixture(name="start_alertmanager")
async def start_alertmanager_fixture(tmp_path: Path) -> AsyncIterator[StartAlertmanager]:
    binary = find_binary()
    if binary is None:
        need_real("prometheus-alertmanager is not installed (apt-get install it)")
    started: list[AlertmanagerProcess] = []

    async def start(
        webhook_url: str | None,
        *,
        bearer_token: str | None = DEFAULT_TOKEN,
        basic: tuple[str, str] | None = None,
        timers: Timers | None = None,
    ) -> RunningAlertmanager:
        receiver = (
            WebhookReceiver(webhook_url, bearer_token=bearer_token, basic=basic)
            if webhook_url is not None
            else None
        )
        process = AlertmanagerProcess(
            binary, tmp_path / f"alertmanager-{len(started)}", receiver, timers or Timers()
        )
        started.append(process)
        await process.start()
        return RunningAlertmanager(process)

    yield start
    for process in started:
        await process.stop()
