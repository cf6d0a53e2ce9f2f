"""The incident tables: pages, incidents, their notes, silences and storms.

Uniqueness does the hard work across replicas:
- `pages` is UNIQUE on (dedup_key, source, epoch, status): a re-delivered page inserts
  nothing, so it changes nothing. The dedup key leads the index because it is the
  selective column: lookups by a list of keys use it even before the planner has stats.
  `epoch` is the alert's start time, so an alert that fires
  again after it resolved is a new page and not a duplicate of the first firing.
- `incidents.open_key` is UNIQUE and set only while an incident is open: two replicas
  opening the same group at once cannot both succeed; the loser retries and joins.
- `storms.open_key` likewise, for the one active storm per (channel, label value).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models import Base, BigIntId
from bot.db.types import UTCDateTime
from integrations.pages import PageLimits

TRIGGERED = "triggered"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
OPEN_STATES = (TRIGGERED, ACKNOWLEDGED)


class PageRecord(Base):
    """One page as a source delivered it, normalized (see `integrations.pages.Page`)."""

    __tablename__ = "pages"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(PageLimits.source))
    dedup_key: Mapped[str] = mapped_column(String(PageLimits.dedup_key))
    epoch: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(PageLimits.title))
    service: Mapped[str | None] = mapped_column(String(PageLimits.service))
    kind: Mapped[str | None] = mapped_column(String(PageLimits.kind))
    labels: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    runbook_url: Mapped[str | None] = mapped_column(String(PageLimits.runbook_url))
    source_url: Mapped[str | None] = mapped_column(String(PageLimits.source_url))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivery_id: Mapped[str | None] = mapped_column(String(200))
    group_hash: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("dedup_key", "source", "epoch", "status", name="uq_pages_identity"),
        Index("ix_pages_incident_id", "incident_id", "id"),
    )


class PageDelivery(Base):
    """A webhook delivery by its own id (PagerDuty's X-Webhook-Id): seen once, a replay of
    it changes nothing at all, whatever its pages say."""

    __tablename__ = "page_deliveries"

    source: Mapped[str] = mapped_column(String(PageLimits.source), primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    group_hash: Mapped[str] = mapped_column(String(64))
    group_key: Mapped[str] = mapped_column(String(500))
    # = group_hash while open, NULL once resolved (NULLs never collide in a UNIQUE index).
    open_key: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(PageLimits.title))
    severity: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(PageLimits.source))
    service: Mapped[str | None] = mapped_column(String(PageLimits.service))
    kind: Mapped[str | None] = mapped_column(String(PageLimits.kind))
    region: Mapped[str | None] = mapped_column(String(PageLimits.region))
    summary: Mapped[str] = mapped_column(Text, default="")
    runbook_url: Mapped[str | None] = mapped_column(String(PageLimits.runbook_url))
    source_url: Mapped[str | None] = mapped_column(String(PageLimits.source_url))
    labels: Mapped[str] = mapped_column(Text, default="{}")
    channel: Mapped[str] = mapped_column(String(40))
    route: Mapped[str] = mapped_column(String(40))
    # Rendered mentions of the route ("<!subteam^S…> <@U…>"), fixed when the incident opens.
    mentions: Mapped[str] = mapped_column(String(500), default="")
    page_count: Mapped[int] = mapped_column(Integer, default=0)
    firing_count: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_by: Mapped[str | None] = mapped_column(String(40))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(40))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(40))
    assignee: Mapped[str | None] = mapped_column(String(40))
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)
    # False when folded into a storm: the storm's thread speaks for it.
    has_thread: Mapped[bool] = mapped_column(Boolean, default=True)
    storm_id: Mapped[int | None] = mapped_column(BigInteger)
    storm_key: Mapped[str | None] = mapped_column(String(200))
    silenced_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    # PagerDuty events still to send: "trigger" or "resolve"; "sent" once PagerDuty has it.
    pagerduty_state: Mapped[str | None] = mapped_column(String(16))
    # The service's state from the fleet, JSON, fetched after the page was stored.
    fleet_state: Mapped[str | None] = mapped_column(Text)
    fleet_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The "new alerts" reply still waiting in the outbox, and its lines, so later pages
    # join it instead of queueing a reply each.
    pending_reply_id: Mapped[int | None] = mapped_column(BigInteger)
    pending_lines: Mapped[str | None] = mapped_column(Text)
    # The root's edit still waiting in the outbox: rewritten in place by the next change.
    pending_update_id: Mapped[int | None] = mapped_column(BigInteger)
    # Ingest records what the thread should say and leaves the saying to the announcer
    # (bot.incidents.followup), so rendering stays off the webhook path: the root is
    # behind, and these alert lines are not in the outbox yet (JSON {"lines", "more"}).
    root_stale: Mapped[bool] = mapped_column(Boolean, default=False)
    unsent_lines: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("open_key", name="uq_incidents_open_key"),
        Index("ix_incidents_group_resolved", "group_hash", "resolved_at"),
        Index("ix_incidents_channel_status", "channel", "status"),
        Index("ix_incidents_storm_key_opened", "storm_key", "opened_at"),
        Index("ix_incidents_storm_id", "storm_id"),
        Index("ix_incidents_next_escalation", "next_escalation_at"),
        Index("ix_incidents_fleet_due", "fleet_due_at"),
        Index("ix_incidents_root_stale", "root_stale"),
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES

    @property
    def root_key(self) -> str:
        return f"incident:{self.id}"

    @property
    def ref(self) -> str:
        return f"incident:{self.id}"


class IncidentNote(Base):
    """A note, an assignment, or another human entry in the incident's timeline."""

    __tablename__ = "incident_notes"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int] = mapped_column(BigInteger, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    author: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)


class Silence(Base):
    __tablename__ = "incident_silences"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    incident_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # Alertmanager's silence id; None when the silence is only the bot's own.
    external_id: Mapped[str | None] = mapped_column(String(100))
    matchers: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_by: Mapped[str] = mapped_column(String(40))
    comment: Mapped[str] = mapped_column(String(500))
    # active -> expired (ran out, announced) or lifted (ended early by someone).
    state: Mapped[str] = mapped_column(String(16), default="active")
    ended_by: Mapped[str | None] = mapped_column(String(40))


class Storm(Base):
    """Many incidents sharing a label within a short window: one thread for all of them."""

    __tablename__ = "incident_storms"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(40))
    storm_key: Mapped[str] = mapped_column(String(200))
    # Set while the storm takes new incidents; NULL once it went quiet.
    open_key: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # active | closed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_incident_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    incident_count: Mapped[int] = mapped_column(Integer, default=0)
    page_count: Mapped[int] = mapped_column(Integer, default=0)
    mentions: Mapped[str] = mapped_column(String(500), default="")
    # The newest incident id already listed in a digest reply, and when that was posted.
    digest_upto_id: Mapped[int] = mapped_column(BigInteger, default=0)
    digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(40))
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    pending_update_id: Mapped[int | None] = mapped_column(BigInteger)
    # The root's counters are behind: ingest only marks this, and a follow-up (or the
    # sweep) re-counts and edits the root, so counting stays off the webhook path.
    stale: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (UniqueConstraint("open_key", name="uq_incident_storms_open_key"),)

    @property
    def root_key(self) -> str:
        return f"storm:{self.id}"
