"""Helpers shared by subcommands: loading the config with a readable failure."""

from __future__ import annotations

import argparse
import sys

from bot.config import Config, ConfigError, load_config
from bot.logs import configure_logging


def config_or_exit(args: argparse.Namespace) -> Config:
    """The config, with logging set up as it says; a readable exit when it is wrong."""
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print_problems(exc)
        raise SystemExit(1) from None
    configure_logging(config.logging.level_number, config.logging.format)
    return config


def print_problems(exc: ConfigError) -> None:
    for path, message in exc.problems:
        print(f"{path}: {message}", file=sys.stderr)
