"""A simulated fleet control plane that speaks `docs/fleet-api.yaml`, for tests and demos.

    server, fleet = await start_simulator(seed=7, size=240, clock=ManualClock())
    fleet.faults.fail_next_operation("switchover", at_step=3)
    ...
    await server.stop()

The fleet is deterministic for a seed; operations are state machines on an injectable
clock (a switchover takes 3.2 simulated seconds). Besides the contract, the app serves
its own control panel on `/_sim` (no auth, no faults):

    GET    /_sim/faults    the active faults
    POST   /_sim/faults    {"latency": 0.5,
                            "error_5xx": {"seconds": 10, "status": 503},
                            "fail_operation": {"action": "switchover", "at_step": 3,
                                               "message": "promotion timed out"}}
                           every key optional; each present key sets that fault
    DELETE /_sim/faults    clear every fault
    POST   /_sim/degrade   {"service": "pg-orders", "member": "pg-orders-2",
                            "lag_bytes": 268435456, "healthy": false}
                           `member` defaults to the last member (a replica where there is
                           one); with neither `lag_bytes` nor `healthy` the member fails
"""

from standins.fleet.simulator.app import create_app
from standins.fleet.simulator.clock import Clock, ManualClock
from standins.fleet.simulator.faults import Faults
from standins.fleet.simulator.fleet import FleetSimulation
from standins.fleet.simulator.seed import seed_fleet
from standins.fleet.simulator.server import start_simulator
from standins.fleet.simulator.state import ApiProblem

__all__ = [
    "ApiProblem",
    "Clock",
    "Faults",
    "FleetSimulation",
    "ManualClock",
    "create_app",
    "seed_fleet",
    "start_simulator",
]
