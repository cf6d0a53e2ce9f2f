"""monitoring: intake heartbeats, health alerts, an index for the outbox's backlog

Revision ID: 0008
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0008"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_sources",
        sa.Column("source", sa.String(60), primary_key=True),
        sa.Column("last_delivery_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "health_alerts",
        sa.Column("key", sa.String(120), primary_key=True),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("pagerduty", sa.String(16), nullable=False, server_default=""),
    )
    # The backlog's size and age are read at every scrape and heartbeat; delivered rows
    # pile up, so the undelivered ones must be found without scanning them.
    op.create_index("ix_outbox_status_created", "outbox", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_status_created", table_name="outbox")
    op.drop_table("health_alerts")
    op.drop_table("intake_sources")
