"""Validate app.yaml and report every problem with its YAML path."""

from __future__ import annotations

import argparse
import os
import sys

from bot.cli.common import print_problems
from bot.config import ConfigError, load_config
from bot.secrets_check import production_reason, report, weak_secrets


def configure(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print_problems(exc, args.config)
        return 1
    backends = ", ".join(f"{b.name} ({b.type})" for b in config.fleet.backends)
    production, weak = production_reason(config, os.environ), weak_secrets(config)
    if weak:
        print(report(weak, production), file=sys.stderr)
        if production is not None:
            return 1
    print(f"{args.config}: ok · slack mode {config.slack.mode} · fleet backends: {backends}")
    return 0
