"""`watchkeeper` command line. Each subcommand is a module with `configure` and `run`.

Config is read once, here, and handed down; `--config PATH` works on every subcommand.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from bot.build_info import describe
from bot.cli import audit, check_config, db, incident, init_config, ops, serve
from bot.logs import configure_logging


def _subcommands() -> dict[str, ModuleType]:
    # Imported lazily where heavy; the order is the order of `watchkeeper --help`.
    from bot.cli import demo, manifest

    return {
        "serve": serve,
        "demo": demo,
        "check-config": check_config,
        "init-config": init_config,
        "db": db,
        "audit": audit,
        "incident": incident,
        "ops": ops,
        "manifest": manifest,
    }


def build_parser(commands: dict[str, ModuleType]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="watchkeeper", description="On-call ChatOps bot")
    parser.add_argument("--version", action="version", version=describe())
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in commands.items():
        child = sub.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0])
        child.add_argument("--config", type=Path, default=Path("app.yaml"), help="path of app.yaml")
        module.configure(child)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    commands = _subcommands()
    args = build_parser(commands).parse_args(argv)
    result = commands[args.command].run(args)
    return int(result)


if __name__ == "__main__":
    sys.exit(main())
