"""Helpers shared by subcommands: loading the config with a readable failure."""

from __future__ import annotations

import argparse
import sys

from bot.config import Config, ConfigError, load_config


def config_or_exit(args: argparse.Namespace) -> Config:
    try:
        return load_config(args.config)
    except ConfigError as exc:
        print_problems(exc)
        raise SystemExit(1) from None


def print_problems(exc: ConfigError) -> None:
    for path, message in exc.problems:
        print(f"{path}: {message}", file=sys.stderr)
