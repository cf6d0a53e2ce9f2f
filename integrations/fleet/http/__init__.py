"""The `http` fleet backend: a client of the control-plane API in `docs/fleet-api.yaml`."""

from integrations.fleet.http.client import HttpFleet

__all__ = ["HttpFleet"]
