"""`type: patroni` in `fleet.backends`: PostgreSQL clusters through Patroni's REST API."""

from __future__ import annotations

import ssl

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    FilePath,
    SecretStr,
    model_validator,
)

from integrations.fleet.patroni.fleet import PatroniFleet


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Cluster name (the service name) -> its members' REST API URLs.
    clusters: dict[str, list[AnyHttpUrl]] = Field(min_length=1)
    # The REST API's basic auth (`restapi.authentication`); the password comes from the
    # environment (`${VAR}`: bot/config.py refuses a literal one).
    username: str | None = None
    password: SecretStr | None = None
    # TLS: the CA that signed the members' certificates (else the system's), and a client
    # certificate for members with `restapi.verify_client` (docs/backends.md).
    ca_file: FilePath | None = None
    cert_file: FilePath | None = None
    key_file: FilePath | None = None
    timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    # How long one Patroni call that does the work (a switchover) may take.
    action_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _reachable_without_secrets_in_urls(self) -> Settings:
        for name, urls in self.clusters.items():
            if not urls:
                raise ValueError(f"cluster {name} lists no member REST API URL")
            if any(u.username or u.password for u in urls):
                raise ValueError(f"cluster {name}: put credentials in username/password, not URLs")
        if self.password is not None and not self.username:
            raise ValueError("password needs a username")
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("key_file needs cert_file")
        return self

    def tls(self) -> ssl.SSLContext:
        """The context https:// members are verified with (and we prove ourselves by)."""
        context = ssl.create_default_context(
            cafile=str(self.ca_file) if self.ca_file is not None else None
        )
        if self.cert_file is not None:
            key = str(self.key_file) if self.key_file is not None else None
            context.load_cert_chain(str(self.cert_file), key)
        return context

    def default_services(self) -> list[str]:
        # "*" would claim every service for the first patroni backend: it serves its clusters.
        return list(self.clusters)


async def open_backend(settings: Settings) -> PatroniFleet:
    return PatroniFleet(
        {name: [str(u) for u in urls] for name, urls in settings.clusters.items()},
        username=settings.username,
        password=settings.password,
        timeout=settings.timeout_seconds,
        action_timeout=settings.action_timeout_seconds,
        verify=settings.tls(),
    )
