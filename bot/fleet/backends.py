"""Opening the fleet backends listed in `app.yaml` behind one `FleetRouter`: each through
the `open_backend` of its type's package (bot.fleet.config)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.fleet.config import FleetConfig, backend_module
from bot.fleet.router import Fleet, FleetRouter
from bot.fleet.watched import Observe


@dataclass
class OpenFleet:
    router: FleetRouter
    # By name, as app.yaml lists them (the demo finds its simulator here).
    backends: dict[str, Fleet]

    async def aclose(self) -> None:
        await self.router.aclose()


async def open_fleet(config: FleetConfig, *, observe: Observe | None = None) -> OpenFleet:
    """The backends of `config` behind one router; `observe` hears how each call went."""
    opened: dict[str, Fleet] = {}
    try:
        for cfg in config.backends:
            backend: Fleet = await backend_module(cfg.type).open_backend(cfg.settings)
            opened[cfg.name] = backend
    except BaseException:
        await FleetRouter([(name, [], b) for name, b in opened.items()]).aclose()
        raise
    routes = [(cfg.name, list(cfg.services), opened[cfg.name]) for cfg in config.backends]
    kinds = {cfg.name: cfg.type for cfg in config.backends}
    router = FleetRouter(
        routes, kinds=kinds, deadline=config.status_deadline_seconds, observe=observe
    )
    return OpenFleet(router, opened)
