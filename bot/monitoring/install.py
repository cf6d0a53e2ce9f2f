"""How the bot's self-monitoring plugs in: `/readyz` and `/metrics`, and the heartbeat
every replica runs (bot.monitoring.heartbeat)."""

from __future__ import annotations

from bot.monitoring.heartbeat import HealthMonitor
from bot.monitoring.routes import monitoring_routes
from bot.parts import AppParts
from bot.runtime import Runtime


def install(parts: AppParts) -> None:
    parts.routes.append(monitoring_routes)
    parts.at_start.append(run_heartbeat)


async def run_heartbeat(rt: Runtime) -> None:
    monitor = HealthMonitor(rt, owner=rt.scheduler.owner, leader=lambda: rt.scheduler.is_leader)
    await monitor.run_forever()
