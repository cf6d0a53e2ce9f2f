"""`type: http` in `fleet.backends`: a control plane that speaks `docs/fleet-api.yaml`."""

from __future__ import annotations

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr

from integrations.fleet.http.client import HttpFleet


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The control plane's base URL.
    url: AnyHttpUrl
    token: SecretStr | None = None
    timeout_seconds: float = Field(default=5.0, gt=0, le=120)


async def open_backend(settings: Settings) -> HttpFleet:
    return HttpFleet(
        str(settings.url).rstrip("/"), token=settings.token, timeout=settings.timeout_seconds
    )
