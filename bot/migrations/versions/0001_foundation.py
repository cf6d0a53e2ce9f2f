"""foundation: slack request dedupe, outbox, posted messages, outbox lanes

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.db.models import BigIntId
from bot.db.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_requests",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("lane", sa.String(200), nullable=False),
        sa.Column("method", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("message_key", sa.String(200)),
        sa.Column("target_key", sa.String(200)),
        sa.Column("thread_key", sa.String(200)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime()),
        sa.Column("last_error", sa.String(500)),
    )
    op.create_index("ix_outbox_lane_status_id", "outbox", ["lane", "status", "id"])
    op.create_table(
        "slack_messages",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("ts", sa.String(40), nullable=False),
    )
    op.create_table(
        "outbox_lanes",
        sa.Column("lane", sa.String(200), primary_key=True),
        sa.Column("owner", sa.String(80)),
        sa.Column("lease_until", UTCDateTime()),
        sa.Column("next_send_at", UTCDateTime()),
    )


def downgrade() -> None:
    op.drop_table("outbox_lanes")
    op.drop_table("slack_messages")
    op.drop_index("ix_outbox_lane_status_id", "outbox")
    op.drop_table("outbox")
    op.drop_table("slack_requests")
