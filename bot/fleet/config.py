"""`fleet:` in `app.yaml`: the backends, each `name`, `type`, the `services` it answers
for, and the settings of its type.

A backend type is a package: `integrations/fleet/<type>/` (what production runs) or
`standins/fleet/<type>/` (the simulator), whose `backend` module has

    class Settings(pydantic.BaseModel): ...            # its keys in app.yaml
    async def open_backend(settings: Settings) -> Fleet

and optionally `Settings.default_services()` when "*" is the wrong default. Adding a
backend is that folder and an `app.yaml` entry; nothing here changes
(docs/architecture.md, "Add a fleet backend").
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.util
import pkgutil
import re
from types import ModuleType
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from bot.config_model import StrictModel

BACKEND_PACKAGES = ("integrations.fleet", "standins.fleet")
# A type is its folder's name; `-` in app.yaml stands for `_` (`redis-sentinel`).
_TYPE_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")
COMMON_KEYS = ("name", "type", "services")


class NoSettings(BaseModel):
    """The settings of a backend whose type is unknown (that is reported once, on `type`)."""


def backend_module(kind: str) -> ModuleType:
    """The `backend` module of backend type `kind`; ValueError naming the types there are."""
    if _TYPE_NAME.fullmatch(kind):
        folder = kind.replace("-", "_")
        for package in BACKEND_PACKAGES:
            try:
                return importlib.import_module(f"{package}.{folder}.backend")
            except ModuleNotFoundError as exc:
                if exc.name not in (f"{package}.{folder}", f"{package}.{folder}.backend"):
                    raise  # the backend exists but one of its own imports is missing
    raise ValueError(f"unknown backend type; known: {', '.join(known_types())}")


def known_types() -> list[str]:
    found: set[str] = set()
    for package in BACKEND_PACKAGES:
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
            if info.ispkg and importlib.util.find_spec(f"{package}.{info.name}.backend"):
                found.add(info.name.replace("_", "-"))
    return sorted(found)


class FleetBackendConfig(StrictModel):
    name: str = Field(min_length=1)
    type: str
    # Glob patterns of service names this backend answers for; first match wins.
    services: list[str] = Field(min_length=1)
    # The settings of its type (the rest of the entry's keys).
    settings: BaseModel

    @model_validator(mode="before")
    @classmethod
    def _settings_of_its_type(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("type"), str):
            return data
        common = {k: data[k] for k in COMMON_KEYS if k in data}
        try:
            module = backend_module(data["type"])
        except ValueError:
            # `type` is refused below, with the list of known types; nothing else is said.
            return {"services": ["*"], **common, "settings": NoSettings()}
        settings = module.Settings.model_validate(
            {k: v for k, v in data.items() if k not in COMMON_KEYS}
        )
        if "services" not in common:
            default = getattr(settings, "default_services", None)
            common["services"] = default() if callable(default) else ["*"]
        return {**common, "settings": settings}

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        backend_module(value)
        return value

    def serves(self, service: str) -> bool:
        return any(fnmatch.fnmatchcase(service, pattern) for pattern in self.services)


class FleetConfig(StrictModel):
    backends: list[FleetBackendConfig] = Field(min_length=1)
    # `/fleet status` with no service: how long it waits for each backend's list before
    # showing that backend as unknown (docs/backends.md).
    status_deadline_seconds: float = Field(default=5.0, gt=0, le=60)

    @field_validator("backends")
    @classmethod
    def _unique_names(cls, value: list[FleetBackendConfig]) -> list[FleetBackendConfig]:
        names = [b.name for b in value]
        if len(names) != len(set(names)):
            raise ValueError("backend names must be unique")
        return value

    def backend_for(self, service: str) -> FleetBackendConfig | None:
        return next((b for b in self.backends if b.serves(service)), None)
