"""A local stand-in for Slack's Web API, for the demo console and for tests.

    server, state = await start_standin()          # a free loopback port
    client = SlackWebClient("xoxb-demo", server.url + "/api/")
    ...
    state.messages("C0DEMO001")                    # what the channel now shows
    await server.stop()

`StandInState` records every call and what it changed and holds the fault and pace
switches; `create_app(state)` is the Starlette app, for mounting elsewhere. Another
process observes and steers it over HTTP: see `server` for the control routes.
"""

from __future__ import annotations

from standins.loopback import LoopbackServer
from standins.slack.directory import BOT_ID, BOT_USER_ID, TEAM_ID, Directory
from standins.slack.faults import Fault
from standins.slack.models import (
    Call,
    Channel,
    Ephemeral,
    Event,
    Message,
    ResponsePost,
    User,
    View,
)
from standins.slack.server import create_app
from standins.slack.state import StandInState

__all__ = [
    "BOT_ID",
    "BOT_USER_ID",
    "TEAM_ID",
    "Call",
    "Channel",
    "Directory",
    "Ephemeral",
    "Event",
    "Fault",
    "Message",
    "ResponsePost",
    "StandInState",
    "User",
    "View",
    "create_app",
    "start_standin",
]


async def start_standin(
    port: int = 0, state: StandInState | None = None, *, host: str = "127.0.0.1"
) -> tuple[LoopbackServer, StandInState]:
    """Serve a stand-in in the running event loop; the caller awaits `server.stop()`.

    The Web API base URL for `SlackWebClient` is `server.url + "/api/"`.
    """
    state = state if state is not None else StandInState()
    server = LoopbackServer(create_app(state), host=host, port=port)
    await server.start()
    return server, state
