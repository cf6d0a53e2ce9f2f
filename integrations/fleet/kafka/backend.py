"""`type: kafka` in `fleet.backends`: Kafka clusters through the Kafka protocol."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FilePath,
    SecretStr,
    field_validator,
    model_validator,
)

from integrations.fleet.kafka.admin import Connection, KafkaAdmin
from integrations.fleet.kafka.fleet import Cluster, KafkaFleet

HOST_PORT = re.compile(r"[A-Za-z0-9.\-\[\]:]{1,253}:[0-9]{1,5}")
GROUP = re.compile(r"[A-Za-z0-9._-]{1,249}")


class ClusterSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bootstrap_servers: list[str] = Field(min_length=1)
    # The consumer groups whose lag `/fleet status` shows (and whose offsets a post-check reads).
    consumer_groups: list[str] = Field(default_factory=list)
    # Brokers the cluster should have: one short is degraded, two short is down.
    expected_brokers: int = Field(default=3, ge=1, le=10_000)
    # A watched group further behind than this many messages makes the cluster degraded.
    max_lag: int | None = Field(default=None, ge=0)

    @field_validator("bootstrap_servers")
    @classmethod
    def _host_port(cls, value: list[str]) -> list[str]:
        for server in value:
            if not HOST_PORT.fullmatch(server):
                raise ValueError(f"{server!r} is not host:port")
        return value

    @field_validator("consumer_groups")
    @classmethod
    def _groups(cls, value: list[str]) -> list[str]:
        for group in value:
            if not GROUP.fullmatch(group):
                raise ValueError(f"{group!r}: group ids of letters, digits, '.', '_', '-' only")
        return value


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Cluster name (the service name) -> how to reach it.
    clusters: dict[str, ClusterSettings] = Field(min_length=1)
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    # `${VARIABLE}` in app.yaml: the secret comes from the environment.
    sasl_password: SecretStr | None = None
    # PEM bundle that signs the brokers' certificates (SSL, SASL_SSL); default: system CAs.
    ssl_cafile: FilePath | None = None
    timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    # The replication throttle while draining a broker, when the request names none.
    throttle_bytes_per_second: int = Field(default=50 * 1024 * 1024, gt=0)
    # How long a drain may take before the operation is reported failed (it goes on).
    reassign_timeout_seconds: float = Field(default=6 * 3600.0, gt=0, le=7 * 24 * 3600)
    poll_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    region: str = "-"

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        sasl = self.security_protocol.startswith("SASL_")
        if sasl != (self.sasl_mechanism is not None):
            raise ValueError(
                "sasl_mechanism goes with security_protocol SASL_PLAINTEXT or SASL_SSL"
            )
        if sasl and not (self.sasl_username and self.sasl_password):
            raise ValueError("SASL needs sasl_username and sasl_password (${VARIABLE})")
        if not sasl and (self.sasl_username or self.sasl_password):
            raise ValueError("sasl_username/sasl_password need a SASL security_protocol")
        if self.ssl_cafile and "SSL" not in self.security_protocol:
            raise ValueError("ssl_cafile needs security_protocol SSL or SASL_SSL")
        return self

    def default_services(self) -> list[str]:
        # "*" would claim every service for the first kafka backend: it serves its clusters.
        return list(self.clusters)

    def connection(self, cluster: ClusterSettings) -> Connection:
        return Connection(
            bootstrap_servers=tuple(cluster.bootstrap_servers),
            security_protocol=self.security_protocol,
            sasl_mechanism=self.sasl_mechanism,
            sasl_username=self.sasl_username,
            sasl_password=self.sasl_password.get_secret_value() if self.sasl_password else None,
            ssl_cafile=str(self.ssl_cafile) if self.ssl_cafile else None,
            timeout=self.timeout_seconds,
        )


async def open_backend(settings: Settings) -> KafkaFleet:
    clusters = {
        name: Cluster(
            KafkaAdmin(name, settings.connection(cluster)),
            groups=tuple(cluster.consumer_groups),
            expected_brokers=cluster.expected_brokers,
            max_lag=cluster.max_lag,
        )
        for name, cluster in settings.clusters.items()
    }
    return KafkaFleet(
        clusters,
        region=settings.region,
        throttle=settings.throttle_bytes_per_second,
        reassign_timeout=settings.reassign_timeout_seconds,
        poll_interval=settings.poll_interval_seconds,
    )
