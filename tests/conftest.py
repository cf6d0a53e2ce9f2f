"""Shared fixtures: databases (SQLite and PostgreSQL), the real-parts policy, configs."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, NoReturn

import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_engine
from bot.db.migrate import upgrade
from tests.hostile.tally import mark_run_start, print_summary

REQUIRE_REAL = os.environ.get("WATCHKEEPER_REQUIRE_REAL") == "1"
PG_ADMIN = os.environ.get("WATCHKEEPER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
PG_TEMPLATE = f"wk_template_{os.getpid()}"


def need_real(reason: str) -> NoReturn:
    """A missing real part skips locally, and fails in CI (WATCHKEEPER_REQUIRE_REAL=1)."""
    if REQUIRE_REAL:
        pytest.fail(f"required real part missing: {reason}")
    pytest.skip(reason)


def _pg_admin() -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        need_real(f"PostgreSQL not reachable at {PG_ADMIN}: {exc}")


def _async_url(database: str) -> str:
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{database}"


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database; each test clones it (fast) instead of migrating."""
    import asyncio

    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{PG_TEMPLATE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{PG_TEMPLATE}"')

    async def migrate() -> None:
        engine = create_engine(_async_url(PG_TEMPLATE))
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate())
    yield PG_TEMPLATE
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{PG_TEMPLATE}" WITH (FORCE)')


def fresh_pg_database(template: str) -> str:
    name = f"wk_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


def drop_pg_database(name: str) -> None:
    with _pg_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A migrated, empty database URL: one SQLite file, or one PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/watchkeeper.db"
        return
    template = request.getfixturevalue("pg_template")
    name = fresh_pg_database(template)
    yield _async_url(name)
    drop_pg_database(name)


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A migrated, empty PostgreSQL database, for tests that need PostgreSQL only."""
    name = fresh_pg_database(pg_template)
    yield _async_url(name)
    drop_pg_database(name)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(db_url)
    await upgrade(eng)  # a no-op on the PostgreSQL clone; creates the SQLite file's schema
    yield eng
    await eng.dispose()


def base_config(**sections: Any) -> dict[str, Any]:
    """A minimal valid raw config; tests override sections."""
    raw: dict[str, Any] = {
        "slack": {"signing_secret": "test-signing-secret", "bot_token": "xoxb-test"},
        "fleet": {"backends": [{"name": "sim", "type": "simulator", "url": "http://127.0.0.1:0"}]},
        "channels": {"default": "C0DEMO001", "audit": "C0AUDIT01", "ops": "C0OPS0001"},
        "roles": {
            "responder": {"users": ["UALICE01", "UBOB0002"]},
            "auditor": {"users": ["UCAROL03"]},
        },
        "audit": {"key": "${WATCHKEEPER_AUDIT_KEY:-test-audit-key-0123456789}"},
    }
    raw.update(sections)
    return raw


# The hostile-input suite's figures (tests/hostile), printed once at the end of a run.
def pytest_configure(config: pytest.Config) -> None:
    mark_run_start(config)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    print_summary(terminalreporter, config)
