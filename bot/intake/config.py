"""The `intake:` section of `app.yaml`: which webhook sources are open and how each one
proves who it is. Secrets are `SecretStr` and come from the environment through `${VAR}`.

A source that is absent or `enabled: false` answers 404. An enabled source must name at
least one credential: there is no unauthenticated intake, and a `${VAR:-}` that expands
to nothing is refused rather than accepted as an empty password.
"""

from __future__ import annotations

import re
from typing import Self

from pydantic import (
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from bot.config_model import StrictModel
from integrations.generic.mapping import FieldMapping
from integrations.grafana.signature import DEFAULT_HEADER as GRAFANA_SIGNATURE_HEADER

_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,80}")


def _non_empty(values: list[SecretStr], what: str) -> list[SecretStr]:
    if any(not v.get_secret_value().strip() for v in values):
        raise ValueError(f"an empty {what} is not a credential (is its variable set?)")
    return values


def _header(value: str) -> str:
    if not _HEADER_NAME.fullmatch(value):
        raise ValueError("not an HTTP header name")
    return value


class TokenAuth(StrictModel):
    """Credentials in the Authorization header; any one of them is accepted, so a token
    can be rotated by listing the new one beside the old."""

    bearer_tokens: list[SecretStr] = Field(default_factory=list)
    # username -> password, for HTTP basic auth.
    basic: dict[str, SecretStr] = Field(default_factory=dict)

    @field_validator("bearer_tokens")
    @classmethod
    def _tokens(cls, value: list[SecretStr]) -> list[SecretStr]:
        return _non_empty(value, "bearer token")

    @field_validator("basic")
    @classmethod
    def _passwords(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        if any(not user or ":" in user for user in value):
            raise ValueError("a basic-auth user name is non-empty and has no ':'")
        _non_empty(list(value.values()), "password")
        return value

    def has_credentials(self) -> bool:
        return bool(self.bearer_tokens or self.basic)


class HmacAuth(StrictModel):
    """HMAC-SHA256 of the raw body (with `timestamp_header`: of `timestamp:body`), hex, in
    `header`, optionally after `prefix` (`sha256=`). Any listed secret may match."""

    secrets: list[SecretStr] = Field(min_length=1)
    header: str = "X-Signature"
    prefix: str = ""
    timestamp_header: str | None = None
    max_skew_seconds: int = Field(default=300, ge=1, le=86_400)

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, value: list[SecretStr]) -> list[SecretStr]:
        return _non_empty(value, "HMAC secret")

    @field_validator("header", "timestamp_header")
    @classmethod
    def _header_names(cls, value: str | None) -> str | None:
        return None if value is None else _header(value)


class GrafanaHmacAuth(HmacAuth):
    header: str = GRAFANA_SIGNATURE_HEADER


class SignedAuth(TokenAuth):
    hmac: HmacAuth | None = None

    def has_credentials(self) -> bool:
        return super().has_credentials() or self.hmac is not None


class GrafanaAuth(TokenAuth):
    hmac: GrafanaHmacAuth | None = None

    def has_credentials(self) -> bool:
        return super().has_credentials() or self.hmac is not None


class _Source(StrictModel):
    enabled: bool = True

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        auth = getattr(self, "auth", None)
        if self.enabled and auth is not None and not auth.has_credentials():
            raise ValueError("an enabled source needs at least one credential in auth")
        return self


class AlertmanagerIntake(_Source):
    # Alertmanager's webhook_configs can send a bearer token or basic auth, not a signature.
    # (Its API, for silences, is configured under `silences:`.)
    auth: TokenAuth


class PagerDutyIntake(_Source):
    # Signing secrets of the v3 webhook subscription(s); several during a rotation.
    secrets: list[SecretStr] = Field(min_length=1)

    @field_validator("secrets")
    @classmethod
    def _secrets(cls, value: list[SecretStr]) -> list[SecretStr]:
        return _non_empty(value, "signing secret")


class GrafanaIntake(_Source):
    auth: GrafanaAuth


class GenericIntake(_Source):
    auth: SignedAuth
    mapping: FieldMapping


GENERIC_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


class IntakeConfig(StrictModel):
    # Defaults to server.max_body_bytes; webhook bodies are refused past it before parsing.
    max_body_bytes: int | None = Field(default=None, ge=1024, le=64 * 1024 * 1024)
    alertmanager: AlertmanagerIntake | None = None
    pagerduty: PagerDutyIntake | None = None
    grafana: GrafanaIntake | None = None
    generic: dict[str, GenericIntake] = Field(default_factory=dict)

    def is_open(self, source: str) -> bool:
        """`source` (`alertmanager`, `generic:<name>`, ...) is configured and enabled."""
        kind, _, name = source.partition(":")
        found = self.generic.get(name) if kind == "generic" else None
        if kind in ("alertmanager", "pagerduty", "grafana") and not name:
            found = getattr(self, kind)
        return found is not None and found.enabled

    def open_sources(self) -> list[str]:
        """Every enabled source, as pages name it: each has its credentials (validated)."""
        named = ["alertmanager", "pagerduty", "grafana", *(f"generic:{n}" for n in self.generic)]
        return [source for source in named if self.is_open(source)]

    @field_validator("generic")
    @classmethod
    def _names(cls, value: dict[str, GenericIntake]) -> dict[str, GenericIntake]:
        for name in value:
            if not GENERIC_NAME.fullmatch(name):
                raise ValueError(f"{name!r}: a generic source name is 1-32 of a-z 0-9 _ -")
        return value
