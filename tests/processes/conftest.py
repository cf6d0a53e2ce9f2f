"""Fixtures of the multi-process tests: the Slack stand-in and the fleet simulator run
once for the package, each test gets its own PostgreSQL database and bot processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.engine import create_engine
from tests.bot_process import FleetProcess, Replicas, StandInProcess, serving


@pytest.fixture(scope="package")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("processes")


@pytest.fixture(scope="package")
def standin(log_dir: Path) -> Iterator[StandInProcess]:
    with serving(StandInProcess(log_dir), "/_standin/faults") as process:
        yield process


@pytest.fixture(scope="package")
def fleet(log_dir: Path) -> Iterator[FleetProcess]:
    with serving(FleetProcess(log_dir), "/_sim/faults") as process:
        yield process


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[AsyncEngine]:
    """The replicas' database, read by the test."""
    engine = create_engine(pg_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def replicas(
    tmp_path: Path, log_dir: Path, standin: StandInProcess, fleet: FleetProcess
) -> Iterator[Replicas]:
    group = Replicas(tmp_path, standin, fleet)
    try:
        yield group
    finally:
        group.stop()
