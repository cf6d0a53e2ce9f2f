"""The fleet: the `Fleet` port the core talks to, the router that picks a backend per
service, and the backends listed in `app.yaml` (docs/architecture.md, "Add a fleet
backend")."""

from bot.fleet.router import Fleet, FleetRouter

__all__ = ["Fleet", "FleetRouter"]
