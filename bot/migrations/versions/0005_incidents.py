"""incidents: pages, incidents, notes, silences and storms

Revision ID: 0005
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.db.models import BigIntId
from bot.db.types import UTCDateTime

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None


def _id() -> sa.Column[int]:
    return sa.Column("id", BigIntId, primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "pages",
        _id(),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("dedup_key", sa.String(200), nullable=False),
        sa.Column("epoch", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("service", sa.String(200)),
        sa.Column("kind", sa.String(40)),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("runbook_url", sa.String(1000)),
        sa.Column("source_url", sa.String(2000)),
        sa.Column("starts_at", UTCDateTime()),
        sa.Column("ends_at", UTCDateTime()),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("delivery_id", sa.String(200)),
        sa.Column("group_hash", sa.String(64), nullable=False),
        sa.Column("incident_id", sa.BigInteger()),
        sa.UniqueConstraint("dedup_key", "source", "epoch", "status", name="uq_pages_identity"),
    )
    op.create_index("ix_pages_incident_id", "pages", ["incident_id", "id"])
    op.create_table(
        "page_deliveries",
        sa.Column("source", sa.String(40), primary_key=True),
        sa.Column("delivery_id", sa.String(200), primary_key=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_page_deliveries_received_at", "page_deliveries", ["received_at"])
    op.create_table(
        "incidents",
        _id(),
        sa.Column("group_hash", sa.String(64), nullable=False),
        sa.Column("group_key", sa.String(500), nullable=False),
        sa.Column("open_key", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("service", sa.String(200)),
        sa.Column("kind", sa.String(40)),
        sa.Column("region", sa.String(100)),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("runbook_url", sa.String(1000)),
        sa.Column("source_url", sa.String(2000)),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("route", sa.String(40), nullable=False),
        sa.Column("mentions", sa.String(500), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=False),
        sa.Column("firing_count", sa.Integer(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("opened_by", sa.String(40)),
        sa.Column("acknowledged_at", UTCDateTime()),
        sa.Column("acknowledged_by", sa.String(40)),
        sa.Column("resolved_at", UTCDateTime()),
        sa.Column("resolved_by", sa.String(40)),
        sa.Column("assignee", sa.String(40)),
        sa.Column("reopened_count", sa.Integer(), nullable=False),
        sa.Column("has_thread", sa.Boolean(), nullable=False),
        sa.Column("storm_id", sa.BigInteger()),
        sa.Column("storm_key", sa.String(200)),
        sa.Column("silenced_until", UTCDateTime()),
        sa.Column("next_escalation_at", UTCDateTime()),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("pagerduty_state", sa.String(16)),
        sa.Column("fleet_state", sa.Text()),
        sa.Column("fleet_due_at", UTCDateTime()),
        sa.Column("pending_reply_id", sa.BigInteger()),
        sa.Column("pending_lines", sa.Text()),
        sa.Column("pending_update_id", sa.BigInteger()),
        sa.Column("root_stale", sa.Boolean(), nullable=False),
        sa.Column("unsent_lines", sa.Text()),
        sa.UniqueConstraint("open_key", name="uq_incidents_open_key"),
    )
    op.create_index("ix_incidents_group_resolved", "incidents", ["group_hash", "resolved_at"])
    op.create_index("ix_incidents_channel_status", "incidents", ["channel", "status"])
    op.create_index("ix_incidents_storm_key_opened", "incidents", ["storm_key", "opened_at"])
    op.create_index("ix_incidents_storm_id", "incidents", ["storm_id"])
    op.create_index("ix_incidents_next_escalation", "incidents", ["next_escalation_at"])
    op.create_index("ix_incidents_fleet_due", "incidents", ["fleet_due_at"])
    op.create_index("ix_incidents_root_stale", "incidents", ["root_stale"])
    op.create_table(
        "incident_notes",
        _id(),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("author", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_index("ix_incident_notes_incident_id", "incident_notes", ["incident_id"])
    op.create_table(
        "incident_silences",
        _id(),
        sa.Column("incident_id", sa.BigInteger()),
        sa.Column("external_id", sa.String(100)),
        sa.Column("matchers", sa.Text(), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(40), nullable=False),
        sa.Column("comment", sa.String(500), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("ended_by", sa.String(40)),
    )
    op.create_index("ix_incident_silences_incident_id", "incident_silences", ["incident_id"])
    op.create_index("ix_incident_silences_ends_at", "incident_silences", ["ends_at"])
    op.create_table(
        "incident_storms",
        _id(),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("storm_key", sa.String(200), nullable=False),
        sa.Column("open_key", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("last_incident_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime()),
        sa.Column("incident_count", sa.Integer(), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=False),
        sa.Column("mentions", sa.String(500), nullable=False),
        sa.Column("digest_upto_id", sa.BigInteger(), nullable=False),
        sa.Column("digest_at", UTCDateTime()),
        sa.Column("acknowledged_by", sa.String(40)),
        sa.Column("next_escalation_at", UTCDateTime()),
        sa.Column("pending_update_id", sa.BigInteger()),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("open_key", name="uq_incident_storms_open_key"),
    )
    op.create_index(
        "ix_incident_storms_next_escalation_at", "incident_storms", ["next_escalation_at"]
    )


def downgrade() -> None:
    op.drop_table("incident_storms")
    op.drop_table("incident_silences")
    op.drop_table("incident_notes")
    op.drop_table("incidents")
    op.drop_table("page_deliveries")
    op.drop_table("pages")
