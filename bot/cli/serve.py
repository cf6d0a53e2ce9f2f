"""Run the bot: HTTP endpoints for Slack (or Socket Mode), health and readiness."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import sys
from typing import TYPE_CHECKING

from bot.cli.common import config_or_exit
from bot.secrets_check import production_reason, report, weak_secrets

if TYPE_CHECKING:
    import uvicorn

    from bot.config import Config


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="listen address (default: server.host)")
    parser.add_argument("--port", type=int, help="listen port (default: server.port)")


async def serve(config: Config, host: str, port: int) -> None:
    # Imported here: the server stack (Bolt, uvicorn) costs ~100 MB the other
    # subcommands (audit export, check-config) should not pay.
    import uvicorn

    from bot.asgi import create_asgi_app
    from bot.composition import open_bot
    from bot.http_server import server_config

    bot = await open_bot(config)
    bot.drain_seconds = config.server.drain_seconds
    app = create_asgi_app(bot)
    _freeze_startup_objects()
    server = uvicorn.Server(server_config(app, config.server, host=host, port=port))
    # In Socket Mode the bot's start (the app's lifespan) opens the socket to Slack.
    await _serve_until_stopped(server)


def _freeze_startup_objects() -> None:
    """Everything built at startup (modules, config, compiled statements, the apps) lives
    as long as the process. Frozen, it is no longer walked by every full garbage
    collection, whose pause grew with it and landed on whichever Slack ack was running."""
    gc.collect()
    gc.freeze()


async def _serve_until_stopped(server: uvicorn.Server) -> None:
    """SIGTERM is how a service manager asks for an orderly stop: uvicorn drains, then
    restores the previous handler and raises the signal again. Absorbing it there makes a
    completed drain exit 0 instead of dying by the signal (143). The handler is set just
    before `serve` installs uvicorn's own, so no SIGTERM is ever ignored while serving."""
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    await server.serve()


def run(args: argparse.Namespace) -> int:
    config = config_or_exit(args)
    if config.audit.key is None:
        # Running unaudited is exactly what this bot exists to prevent.
        print("audit.key is not set; refusing to serve without an audit log", file=sys.stderr)
        return 1
    production, weak = production_reason(config, os.environ), weak_secrets(config)
    if production is not None and weak:
        # Anyone who read the repository could forge Slack users, pages and audit rows.
        print("refusing to serve: " + report(weak, production), file=sys.stderr)
        return 1
    asyncio.run(serve(config, args.host or config.server.host, args.port or config.server.port))
    return 0
