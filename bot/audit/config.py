"""`audit:` in `app.yaml`: the chain's key and its checkpoints."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from bot.config_model import StrictModel


class AuditConfig(StrictModel):
    """The audit chain's key (from the environment, never stored) and its checkpoints."""

    # HMAC key of the chain. Optional so a config without it still loads; appending and
    # verifying refuse to run without it (see bot.audit.hash_chain.KeyRing.from_config).
    key: SecretStr | None = None
    # Keys retired by a rotation: still accepted by verify for the rows they signed.
    previous_keys: list[SecretStr] = Field(default_factory=list)
    # A checkpoint is due when this many rows were appended since the last one, or when
    # `checkpoint_minutes` have passed and the head moved, whichever comes first.
    checkpoint_rows: int = Field(default=200, ge=1, le=1_000_000)
    checkpoint_minutes: int = Field(default=15, ge=1, le=1440)
    checkpoint_file: Path | None = Path("./var/audit-checkpoints.log")

    @field_validator("key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode("utf-8")) < 16:
            raise ValueError("the audit key needs at least 16 bytes (use a random 32-byte value)")
        return value

    @field_validator("previous_keys")
    @classmethod
    def _previous_long_enough(cls, value: list[SecretStr]) -> list[SecretStr]:
        if any(len(k.get_secret_value().encode("utf-8")) < 16 for k in value):
            raise ValueError("every previous audit key needs at least 16 bytes")
        return value
