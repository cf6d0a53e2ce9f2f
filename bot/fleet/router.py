"""The `Fleet` port the core talks to, and the router that picks a backend per service.

Backends live in `integrations/fleet/<type>/` and implement `Fleet` structurally; they
never import the core. `app.yaml` lists them with the service patterns they answer for.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import Protocol

from integrations.fleet.errors import FleetError, ServiceNotFound
from integrations.fleet.models import Service, ServiceSummary


class Fleet(Protocol):
    async def get_service(self, name: str) -> Service: ...

    async def list_services(self) -> list[ServiceSummary]: ...

    async def aclose(self) -> None: ...


class FleetRouter:
    """Routes by service name to the first backend whose patterns match."""

    def __init__(self, backends: Sequence[tuple[str, Sequence[str], Fleet]]) -> None:
        # (name, patterns, backend); order is the order of app.yaml.
        self._backends = list(backends)

    def backend_for(self, service: str) -> Fleet | None:

        for _name, patterns, backend in self._backends:
            if any(fnmatchcase(service, p) for p in patterns):
                return backend
        return None

    async def get_service(self, name: str) -> Service:
        backend = self.backend_for(name)
        if backend is None:
            raise ServiceNotFound(name)
        return await backend.get_service(name)

    async def list_services(self) -> list[ServiceSummary]:
        """Every service of every backend; a backend that fails raises (no partial overview)."""
        seen: dict[str, ServiceSummary] = {}
        for _name, patterns, backend in self._backends:
            for item in await backend.list_services():
                # A service belongs to the first backend that claims it.
                if item.name not in seen and any(fnmatchcase(item.name, p) for p in patterns):
                    seen[item.name] = item
        return sorted(seen.values(), key=lambda s: s.name)

    async def aclose(self) -> None:
        for _name, _patterns, backend in self._backends:
            with contextlib.suppress(FleetError):
                await backend.aclose()
