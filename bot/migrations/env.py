"""Alembic environment: the caller hands over a live (sync-facing) connection."""

from __future__ import annotations

from alembic import context

from bot.db.models import Base
from bot.db.registry import import_all_models

import_all_models()
connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `watchkeeper db upgrade`")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
