"""Run the bot on its embedded default with the local Slack stand-in and a console."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.common import config_or_exit


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--script", type=Path, help="run console lines from FILE, then exit")
    parser.add_argument(
        "--socket",
        action="store_true",
        help="Slack reaches the bot over Socket Mode (the stand-in's WebSocket), not HTTP",
    )


def run(args: argparse.Namespace) -> int:
    from bot.demo.run import run_demo

    return run_demo(config_or_exit(args), args.script, socket=args.socket)
