"""on-call: handoffs posted, overrides

Revision ID: 0006
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.db.models import BigIntId
from bot.db.types import UTCDateTime

revision = "0006"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oncall_handoffs",
        sa.Column("id", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("rotation", sa.String(40), nullable=False),
        sa.Column("shift_start", UTCDateTime(), nullable=False),
        sa.Column("outgoing", sa.String(40), nullable=False),
        sa.Column("incoming", sa.String(40), nullable=False),
        sa.Column("posted_at", UTCDateTime(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("rotation", "shift_start", name="uq_handoff_shift"),
    )
    op.create_table(
        "oncall_overrides",
        sa.Column("id", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("rotation", sa.String(40), nullable=False),
        sa.Column("user", sa.String(40), nullable=False),
        sa.Column("start", UTCDateTime(), nullable=False),
        sa.Column("end", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(40), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_oncall_overrides_rotation_end", "oncall_overrides", ["rotation", "end"])


def downgrade() -> None:
    op.drop_index("ix_oncall_overrides_rotation_end", "oncall_overrides")
    op.drop_table("oncall_overrides")
    op.drop_table("oncall_handoffs")
