"""The tables of campaigns: one row per campaign, one per target (docs/campaigns.md).

Targets are rows so that any replica can carry a campaign on: a replica claims pending
targets (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and moves each one with a conditional
UPDATE; the action it runs is an `action_requests` row whose idempotency key names the
campaign and the target, so no target is acted on twice, whoever claims it again.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models import Base, BigIntId
from bot.db.types import UTCDateTime


class CampaignState(StrEnum):
    PLANNED = "planned"  # previewed, waiting for its approvals
    RUNNING = "running"
    PAUSED = "paused"
    HALTED = "halted"  # stopped by a rule (max_errors, a page in the bake, the kill switch)
    ABORTED = "aborted"
    FINISHED = "finished"
    DENIED = "denied"
    EXPIRED = "expired"


LIVE = frozenset({CampaignState.RUNNING, CampaignState.PAUSED, CampaignState.HALTED})
ENDED = frozenset(
    {CampaignState.ABORTED, CampaignState.FINISHED, CampaignState.DENIED, CampaignState.EXPIRED}
)


class TargetState(StrEnum):
    SKIPPED = "skipped"  # left out at the preview, with its reason
    PENDING = "pending"
    STARTING = "starting"  # claimed by a replica, its action request being made
    RUNNING = "running"  # its action request exists and has not finished
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUSED = "refused"  # a guard of the action refused it at its turn; never forced


TARGET_DONE = frozenset({TargetState.SUCCEEDED, TargetState.FAILED, TargetState.REFUSED})


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    action: Mapped[str] = mapped_column(String(40))
    params: Mapped[str] = mapped_column(Text)  # canonical JSON of the action's parameters
    selector: Mapped[str] = mapped_column(Text)
    # What the approval is bound to: the hash of the resolved target list, and the hash of
    # (action, params, selector, target digest, rate controls).
    target_digest: Mapped[str] = mapped_column(String(64))
    binding_hash: Mapped[str] = mapped_column(String(64))
    rate: Mapped[str] = mapped_column(Text)  # the controls as typed, canonical JSON
    concurrency: Mapped[int] = mapped_column(Integer)
    max_errors: Mapped[int] = mapped_column(Integer)
    wave_ends: Mapped[str] = mapped_column(Text)  # JSON list of cumulative target counts
    bake_seconds: Mapped[int] = mapped_column(Integer)
    estimate_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    target_count: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[str] = mapped_column(String(40))
    owner_name: Mapped[str] = mapped_column(String(200))
    channel_id: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    # 0-based index of the wave under way; its start, and the end of its bake once every
    # target of it has ended.
    wave: Mapped[int] = mapped_column(Integer, default=0)
    wave_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bake_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Failures already counted when it was last resumed: max_errors counts from there.
    errors_forgiven: Mapped[int] = mapped_column(Integer, default=0)
    # Why it halted, was denied or aborted.
    detail: Mapped[str | None] = mapped_column(Text)
    approved_by: Mapped[str | None] = mapped_column(Text)  # JSON list of user ids
    card_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    card_digest: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_campaigns_state", "state"),)


class CampaignTarget(Base):
    __tablename__ = "campaign_targets"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(String(32))
    # The target's place in the campaign (waves are ranges of it); skipped ones have -1.
    position: Mapped[int] = mapped_column(Integer)
    service: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(32))
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("campaign_id", "service", name="uq_campaign_targets_service"),
        Index("ix_campaign_targets_turn", "campaign_id", "state", "position"),
    )
