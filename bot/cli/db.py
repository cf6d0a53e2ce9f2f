"""Database schema: `db upgrade` applies the migrations."""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import config_or_exit
from bot.db.engine import create_engine
from bot.db.migrate import schema_state, upgrade


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["upgrade", "current"])


async def _run(url: str, action: str) -> str:
    engine = create_engine(url)
    try:
        if action == "upgrade":
            await upgrade(engine)
        current, head = await schema_state(engine)
        return f"schema at {current} (newest {head})"
    finally:
        await engine.dispose()


def run(args: argparse.Namespace) -> int:
    config = config_or_exit(args)
    print(asyncio.run(_run(config.storage.url, args.action)))
    return 0
