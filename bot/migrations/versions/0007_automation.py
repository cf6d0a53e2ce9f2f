"""automation: runbook decisions and the kill switch

Revision ID: 0007
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.db.models import BigIntId
from bot.db.types import UTCDateTime

revision = "0007"
# On the actions branch: automation runs are action requests made by the bot.
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "automation_runs",
        sa.Column("id", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("runbook", sa.String(40), nullable=False),
        sa.Column("page_id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.Column("request_id", sa.String(32)),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
        sa.UniqueConstraint("runbook", "page_id", name="uq_automation_runs_page"),
    )
    op.create_index(
        "ix_automation_runs_service_decided", "automation_runs", ["service", "decided_at"]
    )
    op.create_index("ix_automation_runs_state", "automation_runs", ["state"])
    switch = op.create_table(
        "automation_switch",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.String(40)),
        sa.Column("changed_at", UTCDateTime()),
        sa.Column("reason", sa.Text()),
        sa.Column("resumed_at", UTCDateTime()),
    )
    # The one row every decision locks first; it exists from the start.
    op.bulk_insert(switch, [{"id": 1, "paused": False}])


def downgrade() -> None:
    op.drop_table("automation_switch")
    op.drop_index("ix_automation_runs_state", table_name="automation_runs")
    op.drop_index("ix_automation_runs_service_decided", table_name="automation_runs")
    op.drop_table("automation_runs")
