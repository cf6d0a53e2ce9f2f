"""What the heartbeat keeps in the database, so every replica sees the same picture:

- `intake_sources`: when each expected source last delivered (any replica may take the
  delivery, any replica may check);
- `health_alerts`: the problems raised and not yet recovered, so a problem is announced
  once and its recovery once, whichever replica notices first, and what PagerDuty was
  last told about it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models import Base
from bot.db.types import UTCDateTime

# The last thing PagerDuty accepted about an alert.
PD_NONE = ""
PD_TRIGGERED = "trigger"
PD_RESOLVED = "resolve"


class IntakeSource(Base):
    __tablename__ = "intake_sources"

    source: Mapped[str] = mapped_column(String(60), primary_key=True)
    # Seeded with the time monitoring first looked, so silence counts from then.
    last_delivery_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HealthAlert(Base):
    __tablename__ = "health_alerts"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    detail: Mapped[str] = mapped_column(String(500))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when the problem went away; a new raise clears it.
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pagerduty: Mapped[str] = mapped_column(String(16), default=PD_NONE)
