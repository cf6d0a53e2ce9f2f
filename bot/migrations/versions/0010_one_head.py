"""one head: the areas' branches joined; every later migration follows this one

Revision ID: 0010
Revises: 0005, 0006, 0008, 0009

Each area once grew its own branch of revisions. One head makes the schema one version:
`alembic current` prints one line, readiness compares one revision, and a rolling
upgrade (docs/operations.md) reasons about "this revision and the one before".
"""

from __future__ import annotations

revision = "0010"
down_revision = ("0005", "0006", "0008", "0009")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # a merge: no schema change


def downgrade() -> None:
    pass
