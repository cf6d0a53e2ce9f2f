"""The demo console: type slash commands as a Slack user, see what the bot posts, click.

Every line goes through the real path: a signed request to the bot's `/slack/events`
(or, with `demo --socket`, an envelope over the bot's Socket Mode WebSocket), and the
bot's answers land at the Slack stand-in, whose feed is rendered here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bot.demo.console_text import Renderer
from integrations.slack.sender import SlackSender, state_values
from standins.slack import StandInState

# The message shortcut's callback_id (bot/incidents/incident_from_message.py); the console
# sends what Slack would, so it names it as the manifest does.
SHORTCUT_ID = "incident_from_message"
CONSOLE_HELP = """\
Type what a Slack user would type:
  /fleet status pg-orders      a slash command, as the current user
  /fleet help                  what the bot can do
  /page pg-orders [alertname]  monitoring pages the bot: an incident thread
  /as bob                      act as another user (known: {users})
  /in C0OPS0001                switch channel
  3                            click button number 3 (in a channel or on your Home tab)
  /click LABEL                 click the newest button labelled LABEL (scripts)
  /home                        open your App Home tab
  /set FIELD VALUE             fill a field of the open modal (FIELD as shown in <...>)
  /submit   /cancel            submit the open modal, or close it
  /shortcut TEXT               write TEXT here, then "Open incident" from that message
  /socket drop|refresh         (demo --socket) Slack drops the bot's socket, or asks it to
                               move to a new one; the bot connects again by itself
  /wait 2                      let 2 seconds pass (scripts)
  /expect TEXT                 fail unless a message with TEXT arrived since the last line
  /quit                        leave"""

# How long the console waits for the bot's answers to settle before prompting again.
QUIET_SECONDS = 0.4
MAX_WAIT_SECONDS = 8.0


class ConsoleError(Exception):
    """A console line that failed; `--script` exits non-zero on it."""


class Console:
    def __init__(
        self,
        sender: SlackSender,
        state: StandInState,
        users: dict[str, str],
        channel: str,
        out: Callable[[str], None] = print,
        pager: Callable[[str], Awaitable[str]] | None = None,
        socket: Callable[[str], Awaitable[str]] | None = None,
    ) -> None:
        self._sender = sender
        self._state = state
        self._users = users
        self._names = {uid: name for name, uid in users.items()}
        self.user = next(iter(users))
        self.channel = channel
        self._out = out
        self._renderer = Renderer()
        self._seen = state.last_event_seq
        self._recent: list[str] = []
        # The modal open for the current user (as the stand-in shows it) and its answers.
        self._modal: dict[str, Any] | None = None
        self._answers: dict[str, str | list[str]] = {}
        # `/page ...`: the demo's simulated monitoring (bot/incidents/demo.py).
        self._pager = pager
        # `/socket ...`: Slack moving the bot's Socket Mode connection (demo --socket only).
        self._socket = socket

    def prompt(self) -> str:
        return f"{self.user}@#{self.channel}> "

    async def handle(self, line: str) -> bool:
        """Run one line; False means quit. Raises ConsoleError when the line failed."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        word, _, rest = line.partition(" ")
        rest = rest.strip()
        if word in ("/quit", "/exit"):
            return False
        if word in ("/help", "?"):
            self._out(CONSOLE_HELP.format(users=", ".join(self._users)))
        elif word == "/as":
            self._switch_user(rest)
        elif word == "/in":
            self.channel = rest or self.channel
        elif word == "/wait":
            await self._wait(rest)
        elif word == "/expect":
            self._expect(rest)
        elif word == "/page":
            await self._page(rest)
        elif word == "/home":
            await self._home()
        elif word == "/set":
            self._set(rest)
        elif word == "/submit":
            await self._submit()
        elif word == "/cancel":
            self._modal, self._answers = None, {}
        elif word == "/shortcut":
            await self._shortcut(rest)
        elif word == "/socket":
            await self._move_socket(rest)
        elif line.isdecimal():
            await self._click(int(line))
        elif word == "/click":
            await self._click(self._numbered(rest))
        elif word.startswith("/"):
            await self._command(word, rest)
        else:
            raise ConsoleError(f"not a command: {line!r} (type /help)")
        return True

    def _switch_user(self, name: str) -> None:
        if name not in self._users:
            raise ConsoleError(f"unknown user {name!r}; known: {', '.join(self._users)}")
        self.user = name
        self._out(f"(you are now {name}, {self._users[name]})")

    async def _wait(self, seconds: str) -> None:
        try:
            await asyncio.sleep(float(seconds or "1"))
        except ValueError:
            raise ConsoleError(f"/wait takes seconds, not {seconds!r}") from None
        self._show_new()

    def _expect(self, text: str) -> None:
        if not any(text in line for line in self._recent):
            raise ConsoleError(f"expected {text!r} in the bot's latest messages")

    async def _command(self, command: str, text: str) -> None:
        self._recent = []
        answer = await self._sender.command(
            command, text, user_id=self._users[self.user], user_name=self.user,
            channel_id=self.channel,
        )  # fmt: skip
        if answer.status_code != 200:
            raise ConsoleError(f"the bot answered HTTP {answer.status_code}: {answer.text[:200]}")
        await self._settle()

    async def _page(self, text: str) -> None:
        if self._pager is None:
            raise ConsoleError("this demo has no simulated monitoring")
        self._recent = []
        try:
            self._out(await self._pager(text))
        except ValueError as exc:
            raise ConsoleError(str(exc)) from None
        await self._settle()

    async def _move_socket(self, how: str) -> None:
        if self._socket is None:
            raise ConsoleError("/socket needs the demo in Socket Mode (demo --socket)")
        try:
            self._out(await self._socket(how))
        except ValueError as exc:
            raise ConsoleError(str(exc)) from None

    def show_arrivals(self) -> bool:
        """Show what the bot posted since the last line (pages arrive on their own)."""
        if self._state.last_event_seq == self._seen:
            return False
        self._show_new()
        return True

    def _numbered(self, label: str) -> int:
        found = [n for n, b in self._renderer.buttons.items() if b.text == label]
        if not found:
            raise ConsoleError(f"no button labelled {label!r}")
        return found[-1]

    async def _home(self) -> None:
        self._recent = []
        user = self._users[self.user]
        event = {"type": "app_home_opened", "user": user, "tab": "home",
                 "channel": "D0HOME001", "event_ts": f"{time.time():.6f}"}  # fmt: skip
        await self._checked(self._sender.event(event))
        await self._settle()

    def _set(self, rest: str) -> None:
        if self._modal is None:
            raise ConsoleError("no modal is open")
        field, _, value = rest.partition(" ")
        fields = {b.get("block_id"): b for b in self._modal.get("blocks", [])
                  if b.get("type") == "input"}  # fmt: skip
        if field not in fields:
            raise ConsoleError(f"no field {field!r}; fields: {', '.join(map(str, fields))}")
        boxes = fields[field]["element"].get("type") == "checkboxes"
        self._answers[field] = [v for v in value.split(",") if v] if boxes else value.strip()

    async def _submit(self) -> None:
        if self._modal is None:
            raise ConsoleError("no modal is open")
        self._recent = []
        payload = self._sender.view_submission_payload(
            user_id=self._users[self.user], user_name=self.user, view=self._modal,
            values=state_values(self._modal, self._answers),
        )  # fmt: skip
        answer = await self._checked(self._sender.interaction(payload))
        body = answer.json() if answer.content.strip() not in (b"", b"null") else {}
        if body.get("response_action") == "errors":
            # Slack shows these under the fields and keeps the modal open.
            lines = [f"  ! {field}: {why}" for field, why in body.get("errors", {}).items()]
            self._recent.extend(lines)
            self._out("\n".join(["(the modal says)", *lines]))
            return
        self._modal, self._answers = None, {}
        self._out("(submitted)")
        await self._settle()

    async def _shortcut(self, text: str) -> None:
        if not text:
            raise ConsoleError("/shortcut takes the text of the message to write")
        self._recent = []
        said = self._state.say(self.channel, self._users[self.user], text)
        self._show_new()
        payload = self._sender.message_action_payload(
            user_id=self._users[self.user], user_name=self.user, channel_id=self.channel,
            callback_id=SHORTCUT_ID, message={"ts": said.ts, "user": said.user, "text": text},
        )  # fmt: skip
        await self._checked(self._sender.interaction(payload))
        await self._settle()

    async def _checked(self, sending: Awaitable[httpx.Response]) -> httpx.Response:
        answer = await sending
        if answer.status_code != 200:
            raise ConsoleError(f"the bot answered HTTP {answer.status_code}: {answer.text[:200]}")
        return answer

    async def _click(self, number: int) -> None:
        button = self._renderer.buttons.get(number)
        if button is None:
            raise ConsoleError(f"no button numbered {number}")
        self._recent = []
        if button.view is not None:
            text = {"type": "plain_text", "text": button.text}
            action = {"action_id": button.action_id, "block_id": button.block_id,
                      "text": text, "value": button.value}  # fmt: skip
            view_payload = self._sender.view_action_payload(
                user_id=self._users[self.user], user_name=self.user, view=button.view,
                action=action,
            )  # fmt: skip
            await self._checked(self._sender.interaction(view_payload))
            self._out(f"(clicked [{number} {button.text}])")
            await self._settle()
            return
        payload = self._sender.block_action_payload(
            user_id=self._users[self.user],
            user_name=self.user,
            channel_id=button.channel or self.channel,
            action={
                "action_id": button.action_id,
                "block_id": button.block_id,
                "text": {"type": "plain_text", "text": button.text},
                "value": button.value,
            },
            message=button.message,
            message_ts=button.message_ts,
            ephemeral=button.ephemeral,
        )
        answer = await self._sender.interaction(payload)
        if answer.status_code != 200:
            raise ConsoleError(f"the bot answered HTTP {answer.status_code}: {answer.text[:200]}")
        self._out(f"(clicked [{number} {button.text}])")
        await self._settle()

    async def _settle(self) -> None:
        """Show the bot's answers as they arrive; return once they stop (or time runs out)."""
        started = time.monotonic()
        last_change: float | None = None
        while time.monotonic() - started < MAX_WAIT_SECONDS:
            await asyncio.sleep(0.05)
            if self._state.last_event_seq != self._seen:
                self._show_new()
                last_change = time.monotonic()
            elif last_change is not None and time.monotonic() - last_change > QUIET_SECONDS:
                return

    def _show_new(self) -> None:
        for event in self._state.events(since=self._seen):
            shown = event.to_json()
            if shown["kind"] in ("view", "view_update") and shown.get("user") == self._users.get(
                self.user
            ):
                self._modal, self._answers = {**shown["view"], "id": shown["view_id"]}, {}
            lines = self._renderer.event(shown, self._names)
            self._recent.extend(lines)
            self._out("\n".join(lines))
        self._seen = self._state.last_event_seq
