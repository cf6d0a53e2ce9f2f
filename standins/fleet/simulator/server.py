"""Start the simulator on a loopback port, for tests and the demo."""

from __future__ import annotations

from standins.fleet.simulator.app import create_app
from standins.fleet.simulator.clock import Clock, utcnow
from standins.fleet.simulator.fleet import FleetSimulation
from standins.loopback import LoopbackServer


async def start_simulator(
    seed: int = 7,
    size: int = 240,
    port: int = 0,
    token: str | None = None,
    *,
    clock: Clock = utcnow,
) -> tuple[LoopbackServer, FleetSimulation]:
    """A started server (stop it with `await server.stop()`) and the fleet it serves."""
    fleet = FleetSimulation.seeded(seed, size, clock=clock)
    server = LoopbackServer(create_app(fleet, token), port=port)
    await server.start()
    return server, fleet
