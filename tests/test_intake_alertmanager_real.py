"""The real Alertmanager (0.25, Debian package) against the bot's real intake route:
alerts posted to Alertmanager arrive as pages, resolve as pages, survive a failed delivery;
silences made by our client are Alertmanager's own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from integrations.alertmanager import Matcher, PostableAlert, SilenceNotFound
from integrations.pages import Page
from standins.alertmanager import Timers
from tests.alertmanager_server import (
    StartAlertmanager,
    start_alertmanager_fixture,  # noqa: F401
)
from tests.intake_helpers import AM_BASIC, intake_app

pytestmark = pytest.mark.integration
T = TypeVar("T")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/intake.db"


async def eventually(probe: Callable[[], T | None], within: float = 10.0) -> T:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        found = probe()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing arrived within {within}s")


def alert(member: str, *, service: str = "pg-orders", ended: bool = False) -> PostableAlert:
    now = datetime.now(UTC)
    return PostableAlert(
        labels={
            "alertname": "PostgresReplicationLag",
            "service": service,
            "kind": "postgres",
            "severity": "warning",
            "member": member,
        },
        annotations={"summary": f"Replica {member} is behind the primary"},
        starts_at=now - timedelta(minutes=1),
        ends_at=now - timedelta(seconds=1) if ended else None,
        generator_url="http://prometheus.example.com/graph",
    )


def by_member(pages: list[Page], status: str, count: int) -> dict[str, Page] | None:
    """The pages of `status` by member, once `count` members have one."""
    found = {p.labels["member"]: p for p in pages if p.status == status}
    return found if len(found) == count else None


@pytest.mark.parametrize("credentials", ["bearer", "basic"])
async def test_posted_alerts_arrive_as_pages_and_resolve(
    start_alertmanager: StartAlertmanager, sqlite_url: str, credentials: str
) -> None:
    async with intake_app(sqlite_url, serve=True) as app:
        url = f"{app.url}/hooks/alertmanager"
        # group_wait 3 s: on a loaded machine Alertmanager may take over a second to
        # ingest the two alerts of one POST, and a 1 s wait could flush between them.
        timers = Timers(group_wait="3s")
        am = await (
            start_alertmanager(url, timers=timers)
            if credentials == "bearer"
            else start_alertmanager(url, bearer_token=None, basic=AM_BASIC, timers=timers)
        )
        async with am.client() as client:
            await client.post_alerts([alert("pg-orders-1"), alert("pg-orders-2")])
            firing = await eventually(lambda: by_member(app.sink.pages, "firing", 2))
            assert {p.service for p in firing.values()} == {"pg-orders"}
            assert all(p.source == "alertmanager" and p.kind == "postgres" for p in firing.values())
            assert all(len(p.dedup_key) == 16 for p in firing.values()), "AM fingerprints"

            await client.post_alerts(
                [alert("pg-orders-1", ended=True), alert("pg-orders-2", ended=True)]
            )
            resolved = await eventually(lambda: by_member(app.sink.pages, "resolved", 2))
        assert {m: p.dedup_key for m, p in resolved.items()} == {
            m: p.dedup_key for m, p in firing.items()
        }
        assert all(p.ends_at is not None for p in resolved.values())
        # Alertmanager delivers whole groups: the first notification, sent after group_wait,
        # holds both alerts posted together. (Later ones may hold one: when its tick falls
        # between the two resolves, the resolved alert is dropped once notified.)
        assert len(app.sink.batches[0].pages) == 2, am.log_tail()


async def test_a_failed_delivery_is_retried_by_alertmanager(
    start_alertmanager: StartAlertmanager, sqlite_url: str
) -> None:
    async with intake_app(sqlite_url, serve=True) as app:
        app.sink.fail_next = 1  # the first delivery meets "storage down": 503
        am = await start_alertmanager(f"{app.url}/hooks/alertmanager")
        async with am.client() as client:
            await client.post_alerts([alert("pg-billing-0", service="pg-billing")])
            await eventually(lambda: app.sink.pages, within=20.0)
        assert app.sink.fail_next == 0
        assert [p.labels["member"] for p in app.sink.pages][:1] == ["pg-billing-0"]


async def test_silences_created_listed_and_expired(start_alertmanager: StartAlertmanager) -> None:
    am = await start_alertmanager(None)
    now = datetime.now(UTC)
    async with am.client() as client:
        sid = await client.create_silence(
            [
                Matcher(name="service", value="pg-orders"),
                Matcher(name="alertname", value="Postgres.*", is_regex=True),
            ],
            now,
            now + timedelta(hours=1),
            created_by="UALICE01",
            comment="incident 7: failover",
        )
        listed = {s.id: s for s in await client.list_silences()}
        assert listed[sid].status.state == "active"
        assert listed[sid].created_by == "UALICE01"
        assert {(m.name, m.value, m.is_regex) for m in listed[sid].matchers} == {
            ("service", "pg-orders", False),
            ("alertname", "Postgres.*", True),
        }
        filtered = await client.list_silences(filters=['service="pg-orders"'])
        assert [s.id for s in filtered] == [sid]

        await client.expire_silence(sid)
        await client.expire_silence(sid)  # expiring twice is fine
        after = {s.id: s for s in await client.list_silences()}
        assert after[sid].status.state == "expired"

        with pytest.raises(SilenceNotFound):
            await client.expire_silence("6d6e3c7a-0000-4000-8000-000000000000")
