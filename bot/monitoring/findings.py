"""What one look at the bot's health finds: the facts (`Snapshot`) and the named
problems (`Problem`). Plain values, so the metrics and the heartbeat share them without
importing each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Problem:
    key: str
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"problem": self.key, "detail": self.detail}


@dataclass(frozen=True)
class Snapshot:
    at: datetime
    outbox_depth: int
    outbox_oldest_age: float
    incidents_open: int
    # When the scheduler lease runs or ran out; None when no replica ever held it.
    lease_expires_at: datetime | None
    last_delivery: dict[str, datetime] = field(default_factory=dict)
    # Since when automation has been paused; None while it runs.
    automation_paused_since: datetime | None = None
