"""`type: simulator` in `fleet.backends`, the embedded default: the bot serves the
simulated control plane on the configured loopback address and talks to it over HTTP
like any `http` backend, so the demo exercises the real client path."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr

from integrations.fleet.http.client import HttpFleet
from standins.fleet.simulator.server import start_simulator
from standins.loopback import LoopbackServer


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Where to serve it (port 0: any free port).
    url: AnyHttpUrl
    token: SecretStr | None = None
    timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    # How many services to seed, and with which seed.
    seed: int = 7
    size: int = Field(default=240, ge=1, le=100_000)


class SimulatorFleet(HttpFleet):
    """The HTTP client of a simulator this process serves; closing it stops the server."""

    def __init__(self, server: LoopbackServer, settings: Settings) -> None:
        super().__init__(server.url, token=settings.token, timeout=settings.timeout_seconds)
        self.server = server
        self.url = server.url

    async def aclose(self) -> None:
        await super().aclose()
        await self.server.stop()


async def open_backend(settings: Settings) -> SimulatorFleet:
    token = settings.token.get_secret_value() if settings.token else None
    port = urlsplit(str(settings.url)).port or 0
    server, _state = await start_simulator(
        seed=settings.seed, size=settings.size, port=port, token=token
    )
    return SimulatorFleet(server, settings)
