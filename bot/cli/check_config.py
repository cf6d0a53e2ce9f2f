"""Validate app.yaml and report every problem with its YAML path."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping

from bot.cli.common import print_problems
from bot.composition import assemble
from bot.config import Config, ConfigError, load_config
from bot.operational_checks import operational_warnings
from bot.permissions.check import check_permissions
from bot.permissions.usergroups import check_online
from bot.secrets_check import production_reason, report, weak_secrets
from integrations.slack.sender import TEAM_ID as STANDIN_TEAM_ID
from integrations.slack.web import SlackWebClient


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--online",
        action="store_true",
        help="also ask Slack: every user group the config names must be readable",
    )


async def _online_problems(config: Config) -> list[str]:
    web = SlackWebClient(
        config.slack.bot_token.get_secret_value(),
        str(config.slack.api_url),
        timeout=config.slack.timeout_seconds,
    )
    try:
        return await check_online(config, web)
    finally:
        await web.aclose()


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        # What open_bot checks once the commands and buttons are assembled; assembling
        # opens neither the database nor Slack.
        check_permissions(assemble(config))
    except ConfigError as exc:
        print_problems(exc, args.config)
        return 1
    for warning in [*operational_warnings(config), *warnings(config, os.environ)]:
        print(f"warning: {warning}", file=sys.stderr)
    backends = ", ".join(f"{b.name} ({b.type})" for b in config.fleet.backends)
    production, weak = production_reason(config, os.environ), weak_secrets(config)
    if weak:
        print(report(weak, production), file=sys.stderr)
        if production is not None:
            return 1
    if getattr(args, "online", False):
        # A group that cannot be read grants nothing and pings nobody: an error here.
        online = asyncio.run(_online_problems(config))
        for problem in online:
            print(f"error: {problem}", file=sys.stderr)
        if online:
            return 1
    print(f"{args.config}: ok · slack mode {config.slack.mode} · fleet backends: {backends}")
    return 0


def warnings(config: Config, env: Mapping[str, str]) -> list[str]:
    """What is valid but unsafe outside the demo (`bot.secrets_check.production_reason`:
    Slack's API is not the local stand-in, or WATCHKEEPER_ENV=production)."""
    found: list[str] = []
    if production_reason(config, env) is None:
        return found
    if config.slack.team_id is None:
        found.append(
            "slack.team_id is not set: signed requests from every workspace the app is "
            "installed in are acted on; set it to your workspace's id (T...)"
        )
    elif config.slack.team_id == STANDIN_TEAM_ID:
        found.append(
            f"slack.team_id is the local stand-in's ({STANDIN_TEAM_ID}): requests from your "
            "workspace will be ignored; set SLACK_TEAM_ID to its id (T...)"
        )
    return found
