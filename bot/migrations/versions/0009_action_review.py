"""actions: review of break-glass actions run without a second person's approval

Revision ID: 0009
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision = "0009"
# On the actions branch, after automation (its newest revision).
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns only: SQLite adds them without rebuilding the table.
    op.add_column("action_requests", sa.Column("review_asked_at", UTCDateTime()))
    op.add_column("action_requests", sa.Column("reviewed_by", sa.String(40)))
    op.add_column("action_requests", sa.Column("reviewed_by_name", sa.String(200)))
    op.add_column("action_requests", sa.Column("reviewed_at", UTCDateTime()))
    op.create_index(
        "ix_action_requests_review", "action_requests", ["review_asked_at", "reviewed_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_action_requests_review", table_name="action_requests")
    with op.batch_alter_table("action_requests") as batch:
        batch.drop_column("reviewed_at")
        batch.drop_column("reviewed_by_name")
        batch.drop_column("reviewed_by")
        batch.drop_column("review_asked_at")
