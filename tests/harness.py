"""The whole bot in memory, on loopback: real Bolt app, real outbox, the Slack stand-in and
the simulated fleet. Tests read like a chat transcript:

    async with BotHarness(db_url) as h:
        await h.command("alice", "/fleet status pg-orders")
        reply = await h.wait_for_response("alice")

A check that something did *not* happen waits for `quiet()` (everything under way has
finished and the outbox has delivered it), never for a fixed time.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx

from bot.asgi import create_asgi_app
from bot.clock import Clock, utcnow
from bot.composition import Bot, open_bot
from bot.config import Config, parse_config
from bot.parts import AppParts
from bot.transports import OutsideTransports
from integrations.slack.sender import SlackSender, state_values
from standins.loopback import LoopbackServer
from standins.slack import ResponsePost, StandInState, View, start_standin
from standins.slack.socket_mode import through_socket
from tests.conftest import base_config

USERS = {
    "alice": "UALICE01",
    "bob": "UBOB0002",
    "carol": "UCAROL03",
    "dave": "UDAVE004",
    "erin": "UERIN005",
}
CHANNEL = "C0DEMO001"
T = TypeVar("T")


def find_button(blocks: list[dict[str, Any]], label: str) -> dict[str, Any]:
    """The button labelled `label` in a message's blocks (AssertionError when absent)."""
    for block in blocks:
        for element in block.get("elements") or []:
            if element.get("type") == "button" and element["text"]["text"] == label:
                return dict(element)
    raise AssertionError(f"no button {label!r} in {blocks!r}")


class BotHarness:
    def __init__(
        self,
        db_url: str,
        *,
        interval: float = 0.0,
        clock: Clock | None = None,
        owner: str | None = None,
        standin: StandInState | None = None,
        customize: Callable[[AppParts], None] | None = None,
        transports: OutsideTransports | None = None,
        slack_of: BotHarness | None = None,
        env: Mapping[str, str] | None = None,
        **sections: Any,
    ) -> None:
        # The environment `${VAR}` in the sections reads (a fleet password, ...).
        self._env = dict(env or {})
        # Another replica of one deployment: both talk to the same Slack (its stand-in),
        # as two pods do, so either may answer a request the other acked.
        self._slack_of = slack_of
        # What open_bot takes besides the config: parts swapped before the runtime freezes
        # (a page sink, a follow-up), and fakes of the outside systems' APIs.
        self._customize = customize
        self._transports = transports
        self._db_url = db_url
        # A stand-in state of the test's own, e.g. one whose clock the test moves.
        self._standin_state = standin
        # The replica's name (leases, scheduler); two harnesses in one process need two.
        self._owner = owner
        # The bot's "now" (escalation, expiry); the Slack stand-in keeps real time.
        self._clock = clock
        self._interval = interval
        self._sections = sections
        self.state: StandInState
        self.bot: Bot
        self.config: Config
        self.sender: SlackSender
        self._servers: list[LoopbackServer] = []

    async def __aenter__(self) -> BotHarness:
        if self._slack_of is not None:
            standin, self.state = self._slack_of.standin, self._slack_of.state
        else:
            standin, self.state = await start_standin(state=self._standin_state)
            self._servers.append(standin)
        self.standin = standin  # fault tests stop it (Slack unreachable) and serve it again
        sections = dict(self._sections)
        # A test may tune the outbox further (e.g. a short backoff across an outage).
        outbox = {"per_channel_interval_seconds": self._interval, "poll_interval_seconds": 0.05}
        outbox.update(sections.pop("outbox", {}))
        raw = base_config(storage={"url": self._db_url}, outbox=outbox, **sections)
        raw["slack"]["api_url"] = standin.url + "/api/"
        # No checkpoint file unless the test names one: it would land in the checkout.
        raw["audit"].setdefault("checkpoint_file", None)
        self.config = parse_config(raw, self._env)
        opened_before = self.state.socket_mode.opened
        self.bot = await open_bot(
            self.config,
            clock=self._clock or utcnow,
            owner=self._owner,
            customize=self._customize,
            transports=self._transports,
        )
        server = LoopbackServer(create_asgi_app(self.bot))
        await server.start()
        self._servers.append(server)
        self.url = server.url
        # In Socket Mode what users do reaches the bot as envelopes over its WebSocket.
        socket_mode = self.config.slack.mode == "socket"
        self.sender = SlackSender(
            server.url + "/slack/events",
            self.config.slack.signing_secret.get_secret_value(),
            response_url_for=lambda channel, user: self.state.new_response_url(
                standin.url, channel, user
            ),
            socket=through_socket(self.state.socket_mode) if socket_mode else None,
            # The stand-in checks views.open's trigger_id: it mints the ones we send.
            trigger_for=self.state.new_trigger_id,
        )
        if socket_mode:  # this replica's own connection, not another's on the same Slack
            await self.wait_for(lambda: self.state.socket_mode.opened > opened_before)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.sender.aclose()
        for server in reversed(self._servers):
            await server.stop()

    async def command(self, user: str, line: str, channel: str = CHANNEL) -> httpx.Response:
        command, _, text = line.partition(" ")
        return await self.sender.command(
            command, text, user_id=USERS[user], user_name=user, channel_id=channel
        )

    async def wait_for(self, probe: Callable[[], T | None], within: float = 10.0) -> T:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = probe()
            if found:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(f"nothing arrived within {within}s")

    async def eventually(self, probe: Callable[[], Awaitable[T | None]], within: float = 10.0) -> T:
        """`wait_for` with a probe that reads the database or the fleet."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = await probe()
            if found:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(f"the probe found nothing within {within}s")

    async def quiet(self, within: float = 10.0) -> int:
        """Nothing more is on its way: Slack requests still at work after their ack, the
        follow-ups they started, then the outbox, all done. Negative checks ("nothing else
        arrives") assert after this. Returns how many messages wait on a retry back-off
        (Slack failing): those are reported, not awaited."""
        rt = self.bot.runtime
        async with asyncio.timeout(within):
            while True:
                await rt.in_flight.drain(within)
                await rt.background.drain()
                backing_off = await self.bot.worker.drained(within)
                if not len(rt.in_flight):  # none started while the outbox drained
                    return backing_off

    async def wait_for_response(self, user: str, count: int = 1) -> ResponsePost:
        """The `count`-th response_url post to `user`."""

        def probe() -> ResponsePost | None:
            posts = [r for r in self.state.responses() if r.user == USERS[user]]
            return posts[count - 1] if len(posts) >= count else None

        return await self.wait_for(probe)

    async def click(
        self,
        user: str,
        button: dict[str, Any],
        *,
        message_ts: str | None = None,
        channel: str = CHANNEL,
        ephemeral: bool = False,
    ) -> httpx.Response:
        """`user` clicks `button` (from `find_button`) on the message at `message_ts`."""
        payload = self.sender.block_action_payload(
            user_id=USERS[user],
            user_name=user,
            channel_id=channel,
            action={
                "action_id": button["action_id"],
                "block_id": "b",
                "text": button["text"],
                "value": button.get("value", ""),
            },
            message={"ts": message_ts, "text": ""} if message_ts else {},
            message_ts=message_ts,
            ephemeral=ephemeral,
        )
        return await self.sender.interaction(payload)

    async def mention(
        self, user: str, text: str, *, thread_ts: str, channel: str = CHANNEL
    ) -> httpx.Response:
        """`user` writes `@watchkeeper <text>` as a reply in the thread `thread_ts`."""
        event = {
            "type": "app_mention",
            "user": USERS[user],
            "text": f"<@U0BOT0001> {text}",
            "ts": f"{time.time():.6f}",
            "thread_ts": thread_ts,
            "channel": channel,
        }
        return await self.sender.event(event)

    # -- views: modals, the App Home, message shortcuts ---------------------------------

    async def wait_for_modal(self, user: str, count: int = 1) -> View:
        """The `count`-th modal opened for `user`."""

        def probe() -> View | None:
            views = [v for v in self.state.views() if v.user == USERS[user]]
            return views[count - 1] if len(views) >= count else None

        return await self.wait_for(probe)

    async def open_home(self, user: str) -> httpx.Response:
        """`user` opens the app's Home tab (Slack sends `app_home_opened`)."""
        event = {"type": "app_home_opened", "user": USERS[user], "channel": "D0HOME001",
                 "tab": "home", "event_ts": f"{time.time():.6f}"}  # fmt: skip
        return await self.sender.event(event)

    async def wait_for_home(self, user: str, text: str) -> View:
        """`user`'s Home tab once it shows `text`."""

        def probe() -> View | None:
            home = self.state.home_of(USERS[user])
            return home if home is not None and text in json.dumps(home.view) else None

        return await self.wait_for(probe)

    async def submit(self, user: str, view: View, **answers: str | list[str]) -> httpx.Response:
        """`user` fills the modal's fields (by block_id) and submits it."""
        payload = self.sender.view_submission_payload(
            user_id=USERS[user],
            user_name=user,
            view=view.to_json(),
            values=state_values(view.view, answers),
        )
        return await self.sender.interaction(payload)

    async def click_in_view(self, user: str, view: View, button: dict[str, Any]) -> httpx.Response:
        """`user` clicks `button` on a view (their Home tab)."""
        action = {"action_id": button["action_id"], "block_id": "b", "text": button["text"],
                  "value": button.get("value", "")}  # fmt: skip
        payload = self.sender.view_action_payload(
            user_id=USERS[user], user_name=user, view=view.to_json(), action=action
        )
        return await self.sender.interaction(payload)

    async def shortcut(
        self, user: str, callback_id: str, message: dict[str, Any], channel: str = CHANNEL
    ) -> httpx.Response:
        """`user` picks the message shortcut `callback_id` on `message`."""
        payload = self.sender.message_action_payload(
            user_id=USERS[user], user_name=user, channel_id=channel, callback_id=callback_id,
            message=message,
        )  # fmt: skip
        return await self.sender.interaction(payload)
