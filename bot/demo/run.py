"""Start the stand-in, the bot (with its simulated fleet) and the console, on loopback."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from pydantic import AnyHttpUrl, SecretStr

from bot.asgi import create_asgi_app
from bot.composition import open_bot
from bot.config import Config
from bot.demo.console import Console, ConsoleError
from bot.demo.fresh import start_afresh
from bot.incidents.demo import DemoPager
from integrations.slack.sender import SlackSender
from standins.fleet.simulator.backend import SimulatorFleet
from standins.loopback import LoopbackServer
from standins.slack import start_standin
from standins.slack.socket_mode import SocketModeHub, through_socket

BANNER = """\
Watchkeeper demo: the bot on {bot}, Slack's stand-in on {slack}, a simulated fleet.
You are {user} in #{channel}. Try `/fleet status pg-orders`, `/fleet status`, `/help`.
Monitoring pages the bot now and then; `/page pg-orders` raises an incident now."""
SOCKET_LINE = """\
Slack's side reaches the bot over Socket Mode: each line you type travels as an envelope
on the WebSocket the bot opened to the stand-in (apps.connections.open), not as an HTTP POST."""
# The stand-in accepts any app-level token; this one is used when app.yaml sets none.
STANDIN_APP_TOKEN = "xapp-1-A0WATCH01-standin-demo-app-token"
AUTOMATION_LINE = """\
Runbooks fix some pages by themselves ({runbooks}); `/fleet automation status` shows them,
`/fleet automation pause` stops them all."""


def banner(config: Config, **where: str) -> str:
    automatic = [r.name for r in config.runbooks if r.mode == "auto"]
    text = BANNER.format(**where)
    if config.slack.mode == "socket":
        text += "\n" + SOCKET_LINE
    if automatic and config.automation.enabled:
        text += "\n" + AUTOMATION_LINE.format(runbooks=", ".join(automatic))
    return text


def socket_switch(hub: SocketModeHub) -> Callable[[str], Awaitable[str]]:
    """The console's `/socket drop|refresh`: Slack's two ways of moving a connection."""

    async def move(how: str) -> str:
        if how == "drop":
            count = await hub.drop()
            return f"(Slack dropped {count} socket(s) without warning; the bot reconnects)"
        if how == "refresh":
            count = await hub.disconnect("refresh_requested")
            return f"(Slack sent `disconnect: refresh_requested` on {count} socket(s))"
        raise ValueError(f"/socket drop or /socket refresh, not {how!r}")

    return move


def _pointed_at(config: Config, api_url: str, *, socket: bool) -> Config:
    update: dict[str, object] = {"api_url": AnyHttpUrl(api_url)}
    if socket:
        token = config.slack.app_token
        if token is None or not token.get_secret_value():
            token = SecretStr(STANDIN_APP_TOKEN)
        update.update(mode="socket", app_token=token)
    slack = config.slack.model_copy(update=update)
    return config.model_copy(update={"slack": slack})


async def _read_line(prompt: str) -> str | None:
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return None


async def demo(config: Config, script: Path | None, *, socket: bool = False) -> int:
    standin, state = await start_standin(port=config.demo.standin_port)
    config = _pointed_at(config, standin.url + "/api/", socket=socket)
    bot = await open_bot(config)
    server = LoopbackServer(create_asgi_app(bot), host=config.server.host, port=config.server.port)
    await server.start()
    sender = SlackSender(
        server.url + "/slack/events",
        config.slack.signing_secret.get_secret_value(),
        response_url_for=lambda channel, user: state.new_response_url(standin.url, channel, user),
        # The stand-in checks views.open's trigger_id (3 s, once): it mints the ones we send.
        trigger_for=state.new_trigger_id,
        # Socket Mode: the stand-in delivers what the console sends over the bot's socket.
        socket=through_socket(state.socket_mode) if socket else None,
    )
    simulator = next(
        (b.url for b in bot.fleet.backends.values() if isinstance(b, SimulatorFleet)), None
    )
    pager = DemoPager(bot.runtime, server.url, simulator)
    console = Console(
        sender, state, dict(config.demo.users), config.channels.default,
        pager=pager.console_line,
        socket=socket_switch(state.socket_mode) if socket else None,
    )  # fmt: skip
    background: list[asyncio.Task[None]] = []
    try:
        if script is not None:
            return await _run_script(console, script)
        print(banner(config, bot=server.url, slack=standin.url, user=console.user,
                     channel=console.channel))  # fmt: skip
        if config.demo.page_every_seconds:
            every = config.demo.page_every_seconds
            background.append(
                asyncio.create_task(pager.run_forever(config.demo.first_page_seconds, every))
            )
        background.append(asyncio.create_task(_follow(console)))
        return await _interactive(console)
    finally:
        for task in background:
            task.cancel()
        await pager.aclose()
        await sender.aclose()
        await server.stop()
        await standin.stop()


async def _follow(console: Console) -> None:
    """Show incident threads as they arrive, not only after the next typed line."""
    while True:
        await asyncio.sleep(1.0)
        if console.show_arrivals():
            print(console.prompt(), end="", flush=True)


async def _run_script(console: Console, script: Path) -> int:
    lines = await asyncio.to_thread(script.read_text)
    for number, line in enumerate(lines.splitlines(), start=1):
        print(f"{console.prompt()}{line}")
        try:
            if not await console.handle(line):
                break
        except ConsoleError as exc:
            print(f"{script}:{number}: {exc}", file=sys.stderr)
            return 1
    return 0


async def _interactive(console: Console) -> int:
    while True:
        line = await _read_line(console.prompt())
        if line is None:
            return 0
        try:
            if not await console.handle(line):
                return 0
        except ConsoleError as exc:
            print(f"! {exc}")


def _log_to_file(path: Path) -> None:
    # The console is for the conversation; the bot's own logs go to a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def run_demo(config: Config, script: Path | None, *, socket: bool = False) -> int:
    _log_to_file(Path("var/demo.log"))
    if script is not None and not script.is_file():
        print(f"no such script: {script}", file=sys.stderr)
        return 2
    moved = start_afresh(config)
    if moved:
        where = moved[0].parent
        logging.getLogger(__name__).info("the previous demo run's files are in %s", where)
        if script is None:
            print(f"A new demo world; the previous run's database and checkpoints are in {where}/.")
    return asyncio.run(demo(config, script, socket=socket))
