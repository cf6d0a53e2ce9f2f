"""Incidents from the record: `incident export N --format md|json` writes an incident's
timeline (docs/incidents.md, "Timeline and export") to stdout.

The audit rows it quotes are verified first; a chain that does not verify is refused with
the reason (exit 1) and nothing is written to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.cli.common import config_or_exit
from bot.clock import utcnow
from bot.config import Config
from bot.db.engine import create_engine, session_factory
from bot.incidents.timeline import Sources, TimelineRefused, build_timeline
from bot.incidents.timeline_export import to_json, to_markdown, verified_line

RENDER = {"md": to_markdown, "json": to_json}


def _incident_number(text: str) -> int:
    number = text.removeprefix("#")
    if not number.isascii() or not number.isdecimal() or len(number) > 18:
        raise argparse.ArgumentTypeError(f"not an incident number: {text!r} (use 42 or #42)")
    return int(number)


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="incident_action", required=True)
    out = actions.add_parser("export", help="an incident's timeline, verified, as md or json")
    out.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="path of app.yaml")
    out.add_argument("number", type=_incident_number, help="the incident (42 or #42)")
    out.add_argument("--format", choices=sorted(RENDER), default="md")


async def _export(config: Config, args: argparse.Namespace) -> int:
    engine = create_engine(config.storage.url)
    try:
        src = Sources(session_factory(engine), engine, config.audit, utcnow)
        timeline = await build_timeline(src, args.number)
    except TimelineRefused as exc:
        print(f"export refused: {exc}", file=sys.stderr)
        return 1
    finally:
        await engine.dispose()
    sys.stdout.write(RENDER[args.format](timeline))
    sys.stdout.flush()
    print(verified_line(timeline), file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    config = config_or_exit(args)
    return asyncio.run(_export(config, args))
