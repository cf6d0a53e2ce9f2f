"""Opening the fleet backends listed in `app.yaml` behind one `FleetRouter`.

`simulator` is the embedded default: the bot serves the simulated control plane on the
configured loopback address and talks to it over HTTP like any other `http` backend, so
the demo exercises the real client path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bot.config import FleetBackendConfig, FleetConfig
from bot.fleet import Fleet, FleetRouter
from integrations.fleet.http import HttpFleet
from integrations.fleet.patroni import PatroniFleet
from standins.fleet.simulator import start_simulator
from standins.loopback import LoopbackServer


@dataclass
class OpenFleet:
    router: FleetRouter
    embedded: list[LoopbackServer] = field(default_factory=list)

    async def aclose(self) -> None:
        await self.router.aclose()
        for server in self.embedded:
            await server.stop()


async def _open_backend(cfg: FleetBackendConfig, embedded: list[LoopbackServer]) -> Fleet:
    if cfg.type == "patroni":
        return PatroniFleet(
            {name: [str(u) for u in urls] for name, urls in cfg.clusters.items()},
            username=cfg.username,
            password=cfg.password,
            timeout=cfg.timeout_seconds,
            action_timeout=cfg.action_timeout_seconds,
        )
    token = cfg.token.get_secret_value() if cfg.token else None
    url = str(cfg.url).rstrip("/")
    if cfg.type == "simulator":
        port = urlsplit(url).port or 0
        server, _state = await start_simulator(seed=cfg.seed, size=cfg.size, port=port, token=token)
        embedded.append(server)
        url = server.url
    return HttpFleet(url, token=token, timeout=cfg.timeout_seconds)


async def open_fleet(config: FleetConfig) -> OpenFleet:
    embedded: list[LoopbackServer] = []
    backends = [
        (b.name, list(b.services), await _open_backend(b, embedded)) for b in config.backends
    ]
    return OpenFleet(FleetRouter(backends), embedded)
