"""Shared pieces of the monitoring tests: a clock the test moves, reading /metrics, a
heartbeat checked when the test says."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.composition import Bot
from bot.monitoring.heartbeat import HealthMonitor
from bot.monitoring.routes import monitoring_routes
from bot.parts import AppParts

EPOCH = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


class MovingClock:
    """The bot's "now", moved by the test; the stand-ins keep real time."""

    def __init__(self, start: datetime = EPOCH) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def sample(text: str, name: str, **labels: str) -> float:
    """The value of series `name` whose labels include `labels` (summed over the rest);
    0.0 when no such series exists yet."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


async def scrape(client: httpx.AsyncClient, url: str, token: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.get(url + "/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def heartbeat(bot: Bot) -> HealthMonitor:
    """A heartbeat of `bot`'s replica that checks when the test calls `check_once` (the
    bot's own one checks on its timer, which a test does not wait for)."""
    rt = bot.runtime
    return HealthMonitor(rt, owner=rt.scheduler.owner, leader=lambda: rt.scheduler.is_leader)


def readyz_looks_every_time(parts: AppParts) -> None:
    """`open_bot(customize=...)`: /readyz looks at the database on every request (its
    clock moves past the reuse window between two asks), for tests that change the state
    and ask again at once."""
    ticks = itertools.count(step=60)
    at = parts.routes.index(monitoring_routes)
    parts.routes[at] = lambda rt: monitoring_routes(rt, clock=lambda: float(next(ticks)))
