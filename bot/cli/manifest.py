"""Print the Slack app manifest (YAML) for this config: paste it at api.slack.com/apps."""

from __future__ import annotations

import argparse
import sys

import yaml

from bot.cli.common import config_or_exit
from bot.composition import assemble
from bot.manifest import build_manifest


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", help="public base URL of the bot, e.g. https://wk.example.com")


def run(args: argparse.Namespace) -> int:
    config = config_or_exit(args)
    try:
        parts = assemble(config)
        manifest = build_manifest(config, parts.commands, args.url, parts.buttons)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    sys.stdout.write(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))
    return 0
