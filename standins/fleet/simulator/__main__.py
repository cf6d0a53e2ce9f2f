"""Run the simulated control plane as its own process (benchmarks, a shared demo fleet):

python -m standins.fleet.simulator --port 8792 [--seed 7] [--size 240] [--generated]

`--generated` serves a fleet made from the seed as it is touched (a million services
fit; see standins/fleet/simulator/catalog.py).
"""

from __future__ import annotations

import argparse

import uvicorn

from standins.fleet.simulator.app import create_app
from standins.fleet.simulator.fleet import FleetSimulation


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Simulated fleet control-plane API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8792)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--size", type=int, default=240)
    parser.add_argument("--token", default=None, help="require this bearer token")
    parser.add_argument(
        "--generated", action="store_true", help="generate services as they are touched"
    )
    args = parser.parse_args(argv)
    if args.generated:
        fleet = FleetSimulation.generated(args.seed, args.size)
    else:
        fleet = FleetSimulation.seeded(args.seed, args.size)
    uvicorn.run(create_app(fleet, args.token), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
