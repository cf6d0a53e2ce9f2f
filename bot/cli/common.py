"""Helpers shared by subcommands: loading the config with a readable failure."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import Config, ConfigError, load_config
from bot.logs import configure_logging


def config_or_exit(args: argparse.Namespace) -> Config:
    """The config, with logging set up as it says; a readable exit when it is wrong."""
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print_problems(exc, args.config)
        raise SystemExit(1) from None
    settings = config.logging
    configure_logging(settings.level_number, settings.format, settings.logger_levels)
    return config


def print_problems(exc: ConfigError, config: Path | None = None) -> None:
    for path, message in exc.problems:
        print(f"{path}: {message}", file=sys.stderr)
    if config is not None and not config.exists():
        # An installed copy runs where no checkout's app.yaml is.
        hint = f"`watchkeeper init-config --config {config}` writes the example there"
        print(hint, file=sys.stderr)
