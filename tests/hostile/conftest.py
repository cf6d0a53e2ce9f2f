"""The hostile-input suite's fixtures: one attacked bot per module, its figures written at
the module's end, and the figures of the whole run printed at the session's end.

The hypothesis profiles `ci` and `fuzz` are registered in tests/hostile/budget.py; the
summary is printed by tests/conftest.py (the one conftest the xdist controller loads)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hostile.rig import HostileRig, hostile_rig
from tests.hostile.tally import figures_dir


@pytest.fixture(scope="module")
def rig(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HostileRig]:
    """The whole bot under attack, for one module; at its end the audit chain verifies."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('hostile')}/hostile.db"
    with hostile_rig(url) as attacked:
        try:
            yield attacked
        finally:
            name = request.module.__name__.rsplit(".", 1)[-1]
            attacked.tally.write(figures_dir(request.config) / f"{name}.json")
        attacked.quiet()
        problem = attacked.chain_problem()
        assert problem is None, f"the audit chain no longer verifies: {problem}"
