"""actions: action requests, approvals and resource locks

Revision ID: 0004
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.db.models import BigIntId
from bot.db.types import UTCDateTime

revision = "0004"
# On the audit branch: actions write audit rows in their own transactions.
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "action_requests",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("params_hash", sa.String(64), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("requester_id", sa.String(40), nullable=False),
        sa.Column("requester_name", sa.String(200), nullable=False),
        sa.Column("channel_id", sa.String(40), nullable=False),
        sa.Column("thread_ts", sa.String(40)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("risk", sa.String(8), nullable=False),
        sa.Column("break_glass", sa.Boolean(), nullable=False),
        sa.Column("needs_confirmation", sa.Boolean(), nullable=False),
        sa.Column("card_posted", sa.Boolean(), nullable=False),
        sa.Column("approvals_required", sa.Integer(), nullable=False),
        sa.Column("rule_index", sa.Integer()),
        sa.Column("plan", sa.Text()),
        sa.Column("plan_digest", sa.String(64)),
        sa.Column("operation_id", sa.String(120)),
        sa.Column("progress", sa.String(64)),
        sa.Column("detail", sa.Text()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime()),
        sa.Column("claimed_at", UTCDateTime()),
        sa.Column("claimed_by", sa.String(80)),
        sa.Column("finished_at", UTCDateTime()),
        sa.UniqueConstraint("idempotency_key", name="uq_action_requests_idempotency_key"),
    )
    op.create_index("ix_action_requests_state", "action_requests", ["state"])
    op.create_index(
        "ix_action_requests_target_created", "action_requests", ["target", "created_at"]
    )
    op.create_index("ix_action_requests_operation", "action_requests", ["operation_id"])
    op.create_table(
        "action_approvals",
        sa.Column("id", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("approver_id", sa.String(40), nullable=False),
        sa.Column("approver_name", sa.String(200), nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("params_hash", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("request_id", "approver_id", name="uq_action_approval"),
    )
    op.create_table(
        "action_locks",
        sa.Column("resource", sa.String(200), primary_key=True),
        sa.Column("request_id", sa.String(32), nullable=False),
        sa.Column("owner_id", sa.String(40), nullable=False),
        sa.Column("owner_name", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("action_locks")
    op.drop_table("action_approvals")
    op.drop_index("ix_action_requests_operation", "action_requests")
    op.drop_index("ix_action_requests_target_created", "action_requests")
    op.drop_index("ix_action_requests_state", "action_requests")
    op.drop_table("action_requests")
