"""`type: redis_sentinel` in `fleet.backends`: Redis masters through Sentinel."""

from __future__ import annotations

import os
import ssl
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, FilePath, field_validator, model_validator

from integrations.fleet.redis_sentinel.fleet import SentinelFleet
from integrations.fleet.redis_sentinel.parse import Addr
from integrations.fleet.redis_sentinel.plans import Timeouts
from integrations.fleet.redis_sentinel.wire import Wire

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"


class Tls(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ca_file: FilePath
    # A client certificate, when the servers ask for one (`tls-auth-clients yes`).
    cert_file: FilePath | None = None
    key_file: FilePath | None = None
    check_hostname: bool = True

    @model_validator(mode="after")
    def _pair(self) -> Tls:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self

    def kwargs(self) -> dict[str, Any]:
        return {
            "ssl": True,
            "ssl_ca_certs": str(self.ca_file),
            "ssl_cert_reqs": ssl.CERT_REQUIRED,
            "ssl_check_hostname": self.check_hostname,
            "ssl_certfile": str(self.cert_file) if self.cert_file else None,
            "ssl_keyfile": str(self.key_file) if self.key_file else None,
        }


def _secret(env: str | None) -> str | None:
    return os.environ.get(env) if env else None


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The Sentinels, host:port; the first that answers gives the view, all are asked
    # who the master is.
    sentinels: list[str] = Field(min_length=1, max_length=16)
    # The master names (as Sentinel monitors them) this backend serves, or one glob
    # pattern matched against `SENTINEL MASTERS`.
    masters: list[str] = Field(default_factory=list)
    master_pattern: str | None = None
    # The ACL user on the data nodes, and the environment variable with its password.
    username: str | None = None
    password_env: str | None = Field(default=None, pattern=_ENV_NAME)
    # The Sentinels' own user and password variable, when they differ from the nodes'.
    sentinel_username: str | None = None
    sentinel_password_env: str | None = Field(default=None, pattern=_ENV_NAME)
    tls: Tls | None = None
    region: str = "-"
    # One command to one server.
    timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    # How long a switchover or failover may take to settle, and a replica to re-sync.
    failover_timeout_seconds: float = Field(default=90.0, gt=0, le=3600)
    resync_timeout_seconds: float = Field(default=600.0, gt=0, le=86400)

    @field_validator("sentinels")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        addrs = [Addr.parse(v) for v in value]  # ValueError names the bad one
        if len(set(addrs)) != len(addrs):
            raise ValueError("a Sentinel is listed twice")
        return value

    @model_validator(mode="after")
    def _what_to_serve(self) -> Settings:
        if bool(self.masters) == (self.master_pattern is not None):
            raise ValueError("give either masters (names) or master_pattern (a glob)")
        for env in (self.password_env, self.sentinel_password_env):
            if env and not os.environ.get(env):
                raise ValueError(f"the environment variable {env} is not set")
        return self

    def default_services(self) -> list[str]:
        # "*" would claim every service for the first Sentinel backend: it serves its masters.
        return list(self.masters) or [self.master_pattern or ""]

    def wire(self) -> Wire:
        common: dict[str, Any] = {
            "socket_timeout": self.timeout_seconds,
            "socket_connect_timeout": self.timeout_seconds,
            **(self.tls.kwargs() if self.tls else {}),
        }
        node = {**common, "username": self.username, "password": _secret(self.password_env)}
        sentinel = {
            **common,
            "username": self.sentinel_username or self.username,
            "password": _secret(self.sentinel_password_env or self.password_env),
        }
        return Wire(
            [Addr.parse(s) for s in self.sentinels], sentinel_kwargs=sentinel, node_kwargs=node
        )


async def open_backend(settings: Settings) -> SentinelFleet:
    return SentinelFleet(
        settings.wire(),
        masters=settings.masters,
        pattern=settings.master_pattern,
        region=settings.region,
        timeouts=Timeouts(
            failover=settings.failover_timeout_seconds, resync=settings.resync_timeout_seconds
        ),
    )
