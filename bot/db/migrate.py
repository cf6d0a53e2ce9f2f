"""Alembic migrations, run programmatically: `watchkeeper db upgrade` and start-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _migrate(connection: Connection, url: str, downgrade_to: str | None) -> None:
    cfg = alembic_config(url)
    cfg.attributes["connection"] = connection
    if downgrade_to is None:
        # One head since 0010 (tests/test_storage.py keeps it so).
        command.upgrade(cfg, "head")
    else:
        command.downgrade(cfg, downgrade_to)


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the schema to head; safe to call on every start and from several replicas."""
    await _locked(engine, None)


async def downgrade(engine: AsyncEngine, to: str) -> None:
    """Step the schema back (`-1`, a revision): what rolling back a release needs."""
    await _locked(engine, to)


async def _locked(engine: AsyncEngine, downgrade_to: str | None) -> None:
    url = engine.url.render_as_string(hide_password=False)
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Two replicas starting together must not both create the same tables.
            await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7370601)")
        await conn.run_sync(_migrate, url, downgrade_to)


def _current_and_head(connection: Connection) -> tuple[str | None, str | None]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    current = MigrationContext.configure(connection).get_current_heads()
    return _joined(current), _joined(script.get_heads())


def runs_on(current: str | None, head: str | None) -> bool:
    """Whether this release runs on the schema `current`: its own head, or a newer
    revision it does not know (a newer release migrated during a rolling upgrade; its
    migrations only add, expand-then-contract, docs/operations.md). An older schema lacks
    what this release needs, so it does not run on that."""
    if current == head:
        return True
    if current is None:
        return False
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    known = {rev.revision for rev in script.walk_revisions()}
    return not set(current.split("+")) <= known


def _joined(revisions: tuple[str, ...] | list[str]) -> str | None:
    return "+".join(sorted(revisions)) or None


async def schema_state(engine: AsyncEngine) -> tuple[str | None, str | None]:
    """(revisions in the database, newest revisions shipped), each as "a+b" when branched."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current_and_head)
