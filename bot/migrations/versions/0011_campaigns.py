"""campaigns: campaign and target rows; an action request names its campaign

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.db.models import BigIntId
from bot.db.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("selector", sa.Text(), nullable=False),
        sa.Column("target_digest", sa.String(64), nullable=False),
        sa.Column("binding_hash", sa.String(64), nullable=False),
        sa.Column("rate", sa.Text(), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("max_errors", sa.Integer(), nullable=False),
        sa.Column("wave_ends", sa.Text(), nullable=False),
        sa.Column("bake_seconds", sa.Integer(), nullable=False),
        sa.Column("estimate_seconds", sa.Float(), nullable=False),
        sa.Column("target_count", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("owner_id", sa.String(40), nullable=False),
        sa.Column("owner_name", sa.String(200), nullable=False),
        sa.Column("channel_id", sa.String(40), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("wave_started_at", UTCDateTime()),
        sa.Column("bake_until", UTCDateTime()),
        sa.Column("errors_forgiven", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.Column("approved_by", sa.Text()),
        sa.Column("card_updated_at", UTCDateTime()),
        sa.Column("card_digest", sa.String(64)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
    )
    op.create_index("ix_campaigns_state", "campaigns", ["state"])
    op.create_table(
        "campaign_targets",
        sa.Column("id", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("campaign_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("request_id", sa.String(32)),
        sa.Column("claimed_by", sa.String(80)),
        sa.Column("claimed_at", UTCDateTime()),
        sa.Column("finished_at", UTCDateTime()),
        sa.UniqueConstraint("campaign_id", "service", name="uq_campaign_targets_service"),
    )
    op.create_index(
        "ix_campaign_targets_turn", "campaign_targets", ["campaign_id", "state", "position"]
    )
    # Nullable: SQLite adds it without rebuilding the table.
    op.add_column("action_requests", sa.Column("campaign_id", sa.String(32)))
    op.create_index("ix_action_requests_campaign", "action_requests", ["campaign_id"])


def downgrade() -> None:
    op.drop_index("ix_action_requests_campaign", table_name="action_requests")
    with op.batch_alter_table("action_requests") as batch:
        batch.drop_column("campaign_id")
    op.drop_index("ix_campaign_targets_turn", table_name="campaign_targets")
    op.drop_table("campaign_targets")
    op.drop_index("ix_campaigns_state", table_name="campaigns")
    op.drop_table("campaigns")
