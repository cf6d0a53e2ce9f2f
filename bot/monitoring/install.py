"""How the bot's self-monitoring plugs in: `/readyz`, `/status` and `/metrics`, the
dependencies whose reachability they show, and the heartbeat every replica runs
(bot.monitoring.heartbeat)."""

from __future__ import annotations

from bot.monitoring.heartbeat import HealthMonitor
from bot.monitoring.reachability import FLEET_PREFIX, SLACK, SLACK_SOCKET
from bot.monitoring.routes import monitoring_routes
from bot.parts import AppParts
from bot.runtime import Runtime


def install(parts: AppParts) -> None:
    parts.routes.append(monitoring_routes)
    parts.on_open.append(expect_dependencies)
    parts.at_start.append(run_heartbeat)


async def expect_dependencies(rt: Runtime) -> None:
    """Slack (and its socket in Socket Mode) and every fleet backend are listed on /status
    from the start, before any call."""
    rt.metrics.reachability.expect(SLACK)
    if rt.config.slack.mode == "socket":
        rt.metrics.reachability.expect(SLACK_SOCKET)
    for name in rt.fleet.names:
        rt.metrics.reachability.expect(FLEET_PREFIX + name)


async def run_heartbeat(rt: Runtime) -> None:
    monitor = HealthMonitor(rt, owner=rt.scheduler.owner, leader=lambda: rt.scheduler.is_leader)
    await monitor.run_forever()
