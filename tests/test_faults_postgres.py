"""PostgreSQL restarted under load, the bot left running.

A private cluster (initdb + pg_ctl, as the `postgres` user when we are root) on a free
port carries the bot while pages and slash commands keep coming. The cluster is stopped
for a few seconds and started again. Meanwhile every webhook gets 200 or a 503 (its
sender retries), and every command an answer, at worst "try again"; afterwards the bot
works again without a restart of its own, every accepted page has its incident, the audit
chain verifies, and the outbox delivers everything. The reconnect time is measured from
the moment the cluster accepts connections again to the first page stored."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import messages
from bot.actions.models import PENDING, ActionRequest
from bot.actions.tracking import expire_stale
from bot.audit.models import AuditEntry
from bot.incidents.models import Incident, PageRecord
from standins.slack import ResponsePost
from tests.actions_support import ROLES, policies
from tests.conftest import need_real
from tests.fault_support import (
    alertmanager_delivery,
    audit_chain_verifies,
    delivery_report,
    send_page,
)
from tests.harness import USERS, BotHarness
from tests.intake_helpers import intake_section
from tests.patroni_cluster import _owner
from tests.real_processes import free_ports

GAP_SECONDS = 2.0
PAGE_EVERY = 0.04
COMMAND_EVERY = 0.15


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not found:
        need_real("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    return found[-1].parent


class PrivateCluster:
    """One PostgreSQL cluster in a temporary directory, owned by the user it runs as."""

    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.owner = _owner()
        self.base = Path(tempfile.mkdtemp(prefix="wk-pgfault-"))
        self.data = self.base / "data"
        self.port = free_ports(1)[0]
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        done = subprocess.run(
            [str(self.bin / argv[0]), *argv[1:]],
            cwd=self.base,
            capture_output=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            user=self.owner[0] if self.owner else None,
            group=self.owner[1] if self.owner else None,
            extra_groups=[] if self.owner else None,
        )
        assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]

    def init(self) -> None:
        if self.owner:
            os.chown(self.base, *self.owner)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync")  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off"
        )
        log = str(self.base / "postgres.log")
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "-t", "30", "start"
        )

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")

    def remove(self) -> None:
        with contextlib.suppress(AssertionError, subprocess.SubprocessError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def private_cluster() -> Iterator[PrivateCluster]:
    cluster = PrivateCluster()
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@dataclass
class Load:
    """Pages and slash commands at a steady pace; every answer kept with its time."""

    h: BotHarness
    pages: list[tuple[float, int, dict[str, object]]] = field(default_factory=list)
    commands: int = 0
    running: bool = True

    async def send_pages(self) -> None:
        n = 0
        while self.running:
            n += 1
            body = alertmanager_delivery(f"pg-load-{n % 7}", alertname=f"LoadAlert{n}")
            answer = await send_page(self.h.url, body)
            self.pages.append((time.monotonic(), answer.status_code, body))
            await asyncio.sleep(PAGE_EVERY)  # the load's steady pace

    async def send_commands(self) -> None:
        while self.running:
            ack = await self.h.command("erin", "/fleet pause pg-orders")
            assert ack.status_code == 200
            self.commands += 1
            await asyncio.sleep(COMMAND_EVERY)  # the load's steady pace

    def first_stored_after(self, moment: float) -> float | None:
        return next((at for at, status, _ in self.pages if at > moment and status == 200), None)


async def stored_pages(h: BotHarness) -> list[PageRecord]:
    async with h.bot.runtime.sessions() as session:
        return list(await session.scalars(select(PageRecord)))


async def incident_ids(h: BotHarness) -> set[int]:
    async with h.bot.runtime.sessions() as session:
        return set(await session.scalars(select(Incident.id)))


async def undecided_requests(h: BotHarness) -> list[str]:
    """Requests still pending, or with no audit row saying what became of them."""
    async with h.bot.runtime.sessions() as session:
        audited = set(await session.scalars(select(AuditEntry.ref)))
        rows = list(await session.scalars(select(ActionRequest)))
    return [r.id for r in rows if r.state in PENDING or r.id not in audited]


async def test_a_postgres_restart_under_load_costs_a_few_503s_and_nothing_else(
    private_cluster: PrivateCluster,
) -> None:
    async with BotHarness(
        private_cluster.url, roles=ROLES, policies=policies(), intake=intake_section()
    ) as h:
        load = Load(h)
        senders = [
            asyncio.create_task(load.send_pages()),
            asyncio.create_task(load.send_commands()),
        ]
        await asyncio.sleep(1.0)  # a second of load on a healthy database first
        await asyncio.to_thread(private_cluster.stop)
        stopped_at = time.monotonic()
        await asyncio.sleep(GAP_SECONDS)  # the database is down this long: the fault itself
        await asyncio.to_thread(private_cluster.start)
        up_at = time.monotonic()
        while load.first_stored_after(up_at) is None:
            assert time.monotonic() - up_at < 30, "the bot did not reconnect within 30 s"
            await asyncio.sleep(0.02)
        reconnect = (load.first_stored_after(up_at) or up_at) - up_at
        await asyncio.sleep(1.0)  # and a second of load after it is back
        load.running = False
        await asyncio.gather(*senders)

        statuses = Counter(status for _, status, _ in load.pages)
        assert set(statuses) <= {200, 503}, statuses  # a clear answer, never a 500
        assert statuses[503] > 0  # the gap was felt ...
        refused = [body for _, status, body in load.pages if status == 503]
        for body in refused:  # ... and Alertmanager's retry of each refused delivery works
            assert (await send_page(h.url, body)).status_code == 200

        # Nothing half-written: every page sent is stored once, in an incident that exists.
        stored = await stored_pages(h)
        sent = {str(b["alerts"][0]["fingerprint"]) for _, _, b in load.pages}  # type: ignore[index]
        assert sorted(p.dedup_key for p in stored) == sorted(sent)
        assert {p.incident_id for p in stored} <= await incident_ids(h)
        assert None not in {p.incident_id for p in stored}

        # Every command got exactly one answer: what it asked for, or "try again".
        def answered() -> list[ResponsePost] | None:
            found = [r for r in h.state.responses() if r.user == USERS["erin"]]
            return found if len(found) >= load.commands else None

        answers = await h.wait_for(answered)
        assert len(answers) == load.commands, [a.text[:50] for a in answers]
        retry = [a for a in answers if "cannot reach my database" in a.text]
        assert all("may not" in a.text or a in retry for a in answers)  # erin has no role

        # A request cut off between its row and its decision stays `requested` until its
        # confirmation window passes; the expiry sweep then closes it, with its audit row.
        cut_off = await undecided_requests(h)
        rt = h.bot.runtime
        later = rt.clock() + timedelta(minutes=rt.config.policies.confirm_minutes + 1)
        await expire_stale(replace(rt, clock=lambda: later))
        assert await undecided_requests(h) == []
        assert await audit_chain_verifies(h) > 0
        for _ in range(500):
            if not await h.bot.worker.pending_count():
                break
            await asyncio.sleep(0.02)
        report = await delivery_report(h, direct=messages.STORAGE_UNAVAILABLE)
        print(
            f"\n[postgres restart] down {up_at - stopped_at:.1f}s; reconnect {reconnect:.2f}s "
            f"after the cluster was up; pages {dict(statuses)}, commands {load.commands} "
            f"({len(retry)} told to try again, {len(cut_off)} left undecided until the expiry "
            f"sweep); outbox {report}"
        )
        assert report.lost == 0 and report.duplicates == 0, report
        assert report.out_of_order_lanes == [], report
