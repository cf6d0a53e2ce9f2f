"""Each demo run starts in a world of its own.

The demo's Slack (the stand-in) and fleet (the simulator) live in memory and are new at
every start, so what an earlier run stored refers to a world that is gone: incident
threads whose messages no Slack has, operations no fleet knows, an incident a new page
would reopen into a thread nobody can see. So the demo moves its own files (its SQLite
database and the audit checkpoint file) to `var/previous/` before it starts, replacing
what an older run left there, and never deletes them. A database that is not a SQLite
file (`WATCHKEEPER_DB_URL` pointing at PostgreSQL) is not the demo's to move: it is used
as it is.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.config import Config

PREVIOUS = Path("var/previous")
# SQLite's own files beside a database, in WAL or rollback-journal mode.
SIDE_FILES = ("-wal", "-shm", "-journal")


def demo_files(config: Config) -> list[Path]:
    """The files an earlier demo run may have left: its SQLite database (with SQLite's
    side files) and the audit checkpoint file."""
    found: list[Path] = []
    url = make_url(config.storage.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database)
        found += [database, *(database.with_name(database.name + s) for s in SIDE_FILES)]
    if config.audit.checkpoint_file is not None:
        found.append(config.audit.checkpoint_file)
    return found


def start_afresh(config: Config, previous: Path = PREVIOUS) -> list[Path]:
    """Move an earlier run's files to `previous`; returns where they went."""
    present = [path for path in demo_files(config) if path.is_file()]
    if not present:
        return []
    shutil.rmtree(previous, ignore_errors=True)
    previous.mkdir(parents=True)
    moved = []
    for path in present:
        target = previous / path.name
        shutil.move(path, target)
        moved.append(target)
    return moved
