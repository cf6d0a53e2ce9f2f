"""The schema migrates on both SQLite and PostgreSQL, idempotently, and /readyz can tell."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_engine
from bot.db.migrate import alembic_config, downgrade, runs_on, schema_state, upgrade


async def test_schema_is_at_head_and_upgrade_is_idempotent(engine: AsyncEngine) -> None:
    current, head = await schema_state(engine)
    assert current == head is not None
    await upgrade(engine)
    assert await schema_state(engine) == (current, head)


def test_the_migrations_have_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, script.get_heads()


async def test_an_empty_database_upgrades_and_the_newest_step_goes_down_and_up(
    db_url: str,
) -> None:
    engine = create_engine(db_url)
    try:
        if engine.dialect.name == "postgresql":  # the fixture's clone is migrated: empty it
            await downgrade(engine, "base")
            assert (await schema_state(engine))[0] is None
        await upgrade(engine)
        current, head = await schema_state(engine)
        assert current == head and head is not None and "+" not in head
        # One step down: to the revision the head follows (for a merge, one parent of it).
        before = ScriptDirectory.from_config(alembic_config(db_url)).get_revision(head)
        assert before is not None and before.down_revision is not None
        parents = before.down_revision
        await downgrade(engine, parents if isinstance(parents, str) else parents[-1])
        assert (await schema_state(engine))[0] != head
        await upgrade(engine)
        assert await schema_state(engine) == (head, head)
    finally:
        await engine.dispose()


def test_a_release_runs_on_its_own_schema_and_on_a_newer_one_it_does_not_know() -> None:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    assert runs_on(head, head)
    assert runs_on("9999_from_a_newer_release", head)  # rolling upgrade: expand first
    assert not runs_on("0001", head)  # older: this release's tables are missing
    assert not runs_on(None, head)
