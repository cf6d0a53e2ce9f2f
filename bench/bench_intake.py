"""Page intake throughput: alerts/s through `POST /hooks/alertmanager` in batches of 100,
stored durably, on SQLite and PostgreSQL, against the real Alertmanager's own ingestion
of the same alerts through its `POST /api/v2/alerts`, measured in the same run.

The bot runs alone in its own process (with the Slack stand-in and the fleet simulator in
theirs), as does Alertmanager; this process drives both with the same closed loop of
concurrent clients, each sending its next batch when the last is answered. Every batch is
100 alerts never seen before, so nothing is deduplicated away. The bot answers only once
the batch is committed (the page sink's contract); Alertmanager keeps alerts in memory.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import psycopg
import yaml

from bench.load import LoadResult, closed_loop, free_port, serve_module, stop_process
from bench.report import Figure, Target, print_figures
from bench.sizes import PG_ADMIN, scaled
from standins.alertmanager import AlertmanagerProcess, find_binary

TITLE = "Page intake: alerts/s through /hooks/alertmanager vs Alertmanager's own ingestion"
ROOT = Path(__file__).resolve().parent.parent
BATCH = 100
CLIENTS = 8
SECONDS = scaled(6.0, 0.5)
TOKEN = "bench-am-token"
MARK = b"BATCHNUM"  # replaced per request by 8 digits, making every batch new


def _alerts_template() -> tuple[bytes, bytes]:
    """One batch of 100 alerts as a webhook (version 4) body and as an API v2 body, both
    with MARK where the batch number goes (in a label and in the fingerprint)."""
    started = datetime(2026, 11, 26, 3, 0, tzinfo=UTC).isoformat()
    webhook_alerts, api_alerts = [], []
    for j in range(BATCH):
        labels = {
            "alertname": "PostgresReplicationLag",
            "service": f"pg-{j % 40:03d}",
            "kind": "postgres",
            "severity": "warning" if j % 10 else "critical",
            "region": f"region-{j % 4}",
            "instance": f"MARK-{j:03d}",
        }
        annotations = {
            "summary": f"Replica {j} is behind the primary",
            "runbook_url": "https://r/x",
        }
        webhook_alerts.append(
            {
                "status": "firing",
                "labels": labels,
                "annotations": annotations,
                "startsAt": started,
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus/graph",
                "fingerprint": f"MARK{j:08d}",
            }
        )
        api_alerts.append({"labels": labels, "annotations": annotations, "startsAt": started})
    webhook = {
        "receiver": "watchkeeper",
        "status": "firing",
        "alerts": webhook_alerts,
        "groupLabels": {"alertname": "PostgresReplicationLag"},
        "commonLabels": {"alertname": "PostgresReplicationLag"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": '{}:{alertname="PostgresReplicationLag"}',
        "truncatedAlerts": 0,
    }

    def to_bytes(value: Any) -> bytes:
        return json.dumps(value).encode().replace(b"MARK", MARK)

    return to_bytes(webhook), to_bytes(api_alerts)


async def _drive(url: str, template: bytes, headers: dict[str, str]) -> LoadResult:
    batches = count()

    async def send(http: httpx.AsyncClient) -> httpx.Response:
        body = template.replace(MARK, b"%08d" % next(batches))
        return await http.post(url, content=body, headers=headers)

    return await closed_loop(send, clients=CLIENTS, seconds=SECONDS, warmup=scaled(1.0, 0.2))


def _alerts_per_second(result: LoadResult) -> float:
    return result.requests * BATCH / result.seconds


# -- the bot -------------------------------------------------------------------------------


def _bot_config(tmp: Path, db_url: str, port: int, standin_port: int, fleet_port: int) -> Path:
    raw = yaml.safe_load((ROOT / "app.yaml").read_text())
    raw["slack"]["api_url"] = f"http://127.0.0.1:{standin_port}/api/"
    raw["storage"]["url"] = db_url
    raw["server"]["port"] = port
    raw["fleet"]["backends"][0] = {
        "name": "fleet",
        "type": "http",
        "url": f"http://127.0.0.1:{fleet_port}",
        "services": ["*"],
    }
    raw["audit"]["checkpoint_file"] = None
    raw["intake"] = {"alertmanager": {"auth": {"bearer_tokens": [TOKEN]}}}
    path = tmp / f"app-{port}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _bot_run(
    tmp: Path, db_url: str, ports: tuple[int, int], webhook: bytes, mode: str
) -> tuple[LoadResult, str]:
    port = free_port()
    config = _bot_config(tmp, db_url, port, *ports)
    report = tmp / f"sink-{port}.json"
    command = [sys.executable, "-m", "bench.intake_server", str(config), str(port), str(report)]
    bot = serve_module([*command, mode], port)
    try:
        url = f"http://127.0.0.1:{port}/hooks/alertmanager"
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        result = asyncio.run(_drive(url, webhook, headers))
    finally:
        stop_process(bot)
    return result, json.loads(report.read_text())["sink"]


def _pg_database() -> tuple[str, Callable[[], None]] | None:
    """A fresh PostgreSQL database for one run, and how to drop it; None when unreachable."""
    name = f"wk_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        return None

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}", drop


# -- Alertmanager --------------------------------------------------------------------------


async def _alertmanager_run(tmp: Path, api_body: bytes) -> LoadResult | None:
    binary = find_binary()
    if binary is None:
        return None
    # No receiver: Alertmanager only ingests and groups, it sends nothing.
    async with AlertmanagerProcess(binary, tmp / "alertmanager", receiver=None) as am:
        headers = {"Content-Type": "application/json"}
        return await _drive(f"{am.url}/api/v2/alerts", api_body, headers)


def run() -> Iterator[Figure]:
    webhook, api_body = _alerts_template()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        am = asyncio.run(_alertmanager_run(tmp, api_body))
        am_rate = _alerts_per_second(am) if am is not None else None
        am_name = "Alertmanager 0.25 POST /api/v2/alerts (in memory)"
        standin_port, fleet_port = free_port(), free_port()
        standin = serve_module(
            [sys.executable, "-m", "standins.slack", "--port", str(standin_port)],
            standin_port,
        )
        fleet = serve_module(
            [sys.executable, "-m", "standins.fleet.simulator", "--port", str(fleet_port)],
            fleet_port,
        )
        try:
            stores: list[tuple[str, str, Callable[[], None]]] = [
                ("SQLite", f"sqlite+aiosqlite:///{tmp}/bench.db", lambda: None)
            ]
            pg = _pg_database()
            if pg is not None:
                stores.append(("PostgreSQL", pg[0], pg[1]))
            for label, db_url, cleanup in stores:
                try:
                    ports = (standin_port, fleet_port)
                    result, sink = _bot_run(tmp, db_url, ports, webhook, "runtime")
                    alone, _ = _bot_run(tmp, db_url, ports, webhook, "table")
                finally:
                    cleanup()
                yield from [
                    Figure(
                        f"alerts/s, {label}, {sink}, batches of {BATCH}, {CLIENTS} clients",
                        _alerts_per_second(result),
                        "alerts/s",
                        am_name,
                        am_rate,
                        target=Target(1.0, of_baseline=True),
                    ),
                    Figure(
                        f"p99 per batch, {label}",
                        result.percentile(99),
                        "ms",
                        am_name,
                        am.percentile(99) if am is not None else None,
                        higher_is_better=False,
                    ),
                    Figure(
                        f"errors, {label}",
                        result.errors,
                        "non-200",
                        target=Target(0),
                        higher_is_better=False,
                    ),
                    Figure(
                        f"alerts/s, {label}, intake alone (one INSERT per page, no incidents)",
                        _alerts_per_second(alone),
                        "alerts/s",
                        am_name,
                        am_rate,
                    ),
                ]
        finally:
            stop_process(standin)
            stop_process(fleet)


if __name__ == "__main__":
    print_figures(TITLE, run())
