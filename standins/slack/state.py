"""Everything the Slack stand-in was asked and what it now shows, in one object.

The state lives in one event loop and is only touched from synchronous code between
awaits, so it needs no locks. `clock` (monotonic seconds) drives faults, pacing and
response_url expiry; tests inject a fake one to move time without sleeping.

Sequence numbers: calls and feed events each count from 1 in the order they were
answered or happened; an event carries the `call_seq` of the call that caused it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from standins.slack.directory import BOT_USER_ID, INSTALLED_SCOPES, Directory
from standins.slack.faults import ChannelPacer, Fault, FaultMode
from standins.slack.models import (
    Call,
    Channel,
    Ephemeral,
    Event,
    EventKind,
    JsonDict,
    Message,
    ResponsePost,
    ResponseTarget,
    Upload,
    User,
    View,
)
from standins.slack.socket_mode import SocketModeHub

RESPONSE_URL_USES = 5  # Slack: a response_url works up to five times ...
RESPONSE_URL_LIFETIME = 30 * 60.0  # ... within thirty minutes
TRIGGER_LIFETIME = 3.0  # Slack: a trigger_id opens one view, within three seconds


class StandInState:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        directory: Directory | None = None,
        unknown_channels: Iterable[str] = (),
    ) -> None:
        self.clock = clock
        self._wall_clock = wall_clock
        self.directory = directory or Directory()
        self.directory.unknown_channels.update(unknown_channels)
        # The bot scopes the app was installed with; a test revokes one to see Slack's
        # `missing_scope` answer (the methods that need one check here).
        self.scopes: set[str] = set(INSTALLED_SCOPES)
        self.enforce_pace = False
        self.pacer = ChannelPacer()
        self.fault = Fault("ok")
        self._calls: list[Call] = []
        self._events: list[Event] = []
        self._messages: dict[str, list[Message]] = {}
        self._ephemerals: list[Ephemeral] = []
        self._responses: list[ResponsePost] = []
        self._targets: dict[str, ResponseTarget] = {}
        self._target_uses: dict[str, int] = {}
        self._views: list[View] = []
        self._homes: dict[str, View] = {}
        # trigger_id -> (issued at, user, used): minted for each interaction sent.
        self._triggers: dict[str, tuple[float, str, bool]] = {}
        self._post_times: dict[str, list[float]] = {}
        self._call_seq = 0
        self._last_ts_us = 0
        self._uploads: dict[str, Upload] = {}
        # Where the stand-in was last reached (upload URLs point there); set per request.
        self.base_url = ""
        # The app's Socket Mode connections and the envelopes sent over them.
        self.socket_mode = SocketModeHub(clock)

    # -- workspace directory ---------------------------------------------------------

    def add_user(self, user_id: str, name: str, real_name: str | None = None) -> User:
        return self.directory.add_user(user_id, name, real_name)

    def add_channel(self, channel_id: str, name: str, *, is_private: bool = False) -> Channel:
        return self.directory.add_channel(channel_id, name, is_private=is_private)

    def add_usergroup(self, group_id: str, user_ids: Iterable[str]) -> None:
        self.directory.add_usergroup(group_id, user_ids)

    # -- faults ----------------------------------------------------------------------

    def set_fault(
        self,
        mode: FaultMode,
        *,
        seconds: float | None = None,
        retry_after: float = 5.0,
        status: int = 503,
        methods: Iterable[str] | None = None,
        calls: int | None = None,
    ) -> Fault:
        """Make Slack unwell; `seconds` ends it by itself, `calls` after that many calls."""
        self.fault = Fault(
            mode,
            status=status,
            retry_after=retry_after,
            until=None if seconds is None else self.clock() + seconds,
            methods=None if methods is None else frozenset(methods),
            calls_left=calls,
        )
        return self.fault

    def clear_fault(self) -> None:
        self.fault = Fault("ok")

    def fault_for(self, method: str) -> Fault | None:
        fault = self.fault
        return fault if fault.applies_to(method, self.clock()) else None

    def spend_fault(self, fault: Fault) -> None:
        if fault.calls_left is not None:
            fault.calls_left -= 1

    # -- recording -------------------------------------------------------------------

    def next_call_seq(self) -> int:
        """Reserve the next call number; record it before the next await so seqs stay ordered."""
        self._call_seq += 1
        return self._call_seq

    def record_call(
        self, seq: int, method: str, payload: JsonDict, status: int, error: str | None
    ) -> Call:
        clean = {k: v for k, v in payload.items() if k != "token"}
        call = Call(seq, method, clean, self.clock(), status, error)
        self._calls.append(call)
        return call

    def _event(
        self, kind: EventKind, call_seq: int, channel: str | None, ts: str | None, **data: Any
    ) -> None:
        seq = len(self._events) + 1
        self._events.append(Event(seq, kind, call_seq, self.clock(), channel, ts, data))

    def _next_ts(self) -> str:
        micros = max(self._last_ts_us + 100, int(self._wall_clock() * 1_000_000))
        self._last_ts_us = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    # -- changes, called by the Web API methods once a call is accepted ----------------

    def post_message(
        self,
        call_seq: int,
        channel: str,
        text: str,
        blocks: list[JsonDict],
        thread_ts: str | None = None,
    ) -> Message:
        orphan = thread_ts is not None and self.find_message(channel, thread_ts) is None
        message = Message(channel, self._next_ts(), BOT_USER_ID, text, blocks, thread_ts)
        message.orphan = orphan
        self._messages.setdefault(channel, []).append(message)
        self._post_times.setdefault(channel, []).append(self.clock())
        self._event(
            "message", call_seq, channel, message.ts,
            user=message.user, text=text, blocks=blocks, thread_ts=thread_ts, orphan=orphan,
        )  # fmt: skip
        return message

    def say(self, channel: str, user: str, text: str, thread_ts: str | None = None) -> Message:
        """A person writes in a channel (what a message shortcut is then picked on)."""
        message = Message(channel, self._next_ts(), user, text, [], thread_ts)
        self._messages.setdefault(channel, []).append(message)
        self._event(
            "message", 0, channel, message.ts,
            user=user, text=text, blocks=[], thread_ts=thread_ts, orphan=False,
        )  # fmt: skip
        return message

    def update_message(
        self, call_seq: int, message: Message, text: str | None, blocks: list[JsonDict] | None
    ) -> None:
        """Replace what is given; like Slack, an omitted text or blocks is kept."""
        if text is not None:
            message.text = text
        if blocks is not None:
            message.blocks = blocks
        message.edits += 1
        self._event(
            "edit", call_seq, message.channel, message.ts,
            text=message.text, blocks=message.blocks, thread_ts=message.thread_ts,
            edits=message.edits,
        )  # fmt: skip

    def post_ephemeral(
        self,
        call_seq: int,
        channel: str,
        user: str,
        text: str,
        blocks: list[JsonDict],
        thread_ts: str | None = None,
    ) -> Ephemeral:
        ephemeral = Ephemeral(channel, user, text, blocks, self._next_ts(), thread_ts)
        self._ephemerals.append(ephemeral)
        self._event(
            "ephemeral", call_seq, channel, ephemeral.message_ts,
            user=user, text=text, blocks=blocks, thread_ts=thread_ts,
        )  # fmt: skip
        return ephemeral

    def new_trigger_id(self, user: str) -> str:
        """A trigger_id for an interaction `user` is about to send (tests, console)."""
        trigger = f"{len(self._triggers) + 1}.{secrets.randbelow(10**12)}.{secrets.token_hex(8)}"
        self._triggers[trigger] = (self.clock(), user, False)
        return trigger

    def trigger_problem(self, trigger_id: str) -> str | None:
        """Why `trigger_id` cannot open a view now (Slack's error name), or None."""
        known = self._triggers.get(trigger_id)
        if known is None:
            return "invalid_trigger_id"
        issued, _, used = known
        if used:
            return "exchanged_trigger_id"
        if self.clock() - issued > TRIGGER_LIFETIME:
            return "expired_trigger_id"
        return None

    def open_view(self, call_seq: int, trigger_id: str, view: JsonDict) -> View:
        """Spend the trigger (checked by `trigger_problem` first) on a new modal."""
        issued, user, _ = self._triggers[trigger_id]
        self._triggers[trigger_id] = (issued, user, True)
        opened = View(f"V{len(self._views) + 1:08d}", trigger_id, view, user, self._view_hash())
        self._views.append(opened)
        self._event(
            "view", call_seq, None, None,
            view_id=opened.id, trigger_id=trigger_id, user=user, view=view,
        )  # fmt: skip
        return opened

    def find_view(self, view_id: str) -> View | None:
        for view in [*self._views, *self._homes.values()]:
            if view.id == view_id:
                return view
        return None

    def update_view(self, call_seq: int, view: View, content: JsonDict) -> View:
        view.view = content
        view.hash = self._view_hash()
        view.updates += 1
        self._event(
            "view_update", call_seq, None, None, view_id=view.id, user=view.user, view=content
        )
        return view

    def publish_home(self, call_seq: int, user: str, content: JsonDict) -> View:
        home = self._homes.get(user)
        if home is None:
            home = View(f"VH{len(self._homes) + 1:07d}", "", content, user, self._view_hash())
            self._homes[user] = home
        else:
            home.view = content
            home.hash = self._view_hash()
            home.updates += 1
        self._event("home", call_seq, None, None, view_id=home.id, user=user, view=content)
        return home

    def home_of(self, user: str) -> View | None:
        return self._homes.get(user)

    def _view_hash(self) -> str:
        return f"{int(self._wall_clock())}.{secrets.token_hex(6)}"

    def new_response_url(
        self, base_url: str, channel: str, user: str, message_ts: str | None = None
    ) -> str:
        """A response_url for an interaction in `channel` by `user` (on `message_ts`)."""
        token = f"R{len(self._targets) + 1:05d}{secrets.token_hex(6)}"
        self._targets[token] = ResponseTarget(token, channel, user, message_ts, self.clock())
        return f"{base_url.rstrip('/')}/response/{token}"

    def response_target(self, token: str) -> ResponseTarget | str:
        """The target of a response_url, or why it no longer works."""
        target = self._targets.get(token)
        if target is None:
            return "no_such_url"
        if self.clock() - target.issued_at > RESPONSE_URL_LIFETIME:
            return "expired_url"
        if self._target_uses.get(token, 0) >= RESPONSE_URL_USES:
            return "used_url"
        return target

    def post_response(
        self, call_seq: int, target: ResponseTarget, payload: JsonDict, blocks: list[JsonDict]
    ) -> ResponsePost:
        self._target_uses[target.token] = self._target_uses.get(target.token, 0) + 1
        post = ResponsePost(
            target.token,
            target.channel,
            target.user,
            str(payload.get("text") or ""),
            blocks,
            str(payload.get("response_type") or "ephemeral"),
            bool(payload.get("replace_original", False)),
            bool(payload.get("delete_original", False)),
            dict(payload),
        )
        self._responses.append(post)
        self._event(
            "response", call_seq, target.channel, target.message_ts,
            user=target.user, text=post.text, blocks=blocks, response_type=post.response_type,
            replace_original=post.replace_original, delete_original=post.delete_original,
        )  # fmt: skip
        if post.replace_original and target.message_ts is not None:
            original = self.find_message(target.channel, target.message_ts)
            if original is not None:
                self.update_message(call_seq, original, post.text, blocks)
        return post

    # -- queries, for tests and the observation routes ---------------------------------

    # -- files (external upload) --------------------------------------------------------

    def reserve_upload(self, filename: str, length: int) -> Upload:
        upload = Upload(f"F{secrets.token_hex(5).upper()}", filename, length)
        self._uploads[upload.id] = upload
        return upload

    def upload(self, file_id: str) -> Upload | None:
        return self._uploads.get(file_id)

    def share_upload(
        self, call_seq: int, upload: Upload, title: str | None, channel: str | None,
        thread_ts: str | None,
    ) -> None:  # fmt: skip
        upload.title, upload.channel, upload.thread_ts = title, channel, thread_ts
        upload.shared = True
        if channel is not None:
            # Slack shows a shared file as a message of the bot in the channel or thread.
            self.post_message(call_seq, channel, f"{title or upload.filename}", [], thread_ts)

    def files(self) -> list[Upload]:
        """The shared files, oldest first."""
        return [u for u in self._uploads.values() if u.shared]

    def find_message(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self._messages.get(channel, []) if m.ts == ts), None)

    def messages(self, channel: str) -> list[Message]:
        """Every message posted in `channel`, thread replies included, oldest first."""
        return list(self._messages.get(channel, []))

    def thread(self, channel: str, ts: str) -> list[Message]:
        """The thread rooted at `ts`: the root (if it exists) then its replies."""
        return [m for m in self._messages.get(channel, []) if ts in (m.ts, m.thread_ts)]

    def calls(self, method: str | None = None, *, since: int = 0) -> list[Call]:
        return [c for c in self._calls if c.seq > since and method in (None, c.method)]

    def ephemerals(self, user: str | None = None) -> list[Ephemeral]:
        return [e for e in self._ephemerals if user in (None, e.user)]

    def responses(self) -> list[ResponsePost]:
        return list(self._responses)

    def views(self) -> list[View]:
        return list(self._views)

    def events(self, *, since: int = 0, channel: str | None = None) -> list[Event]:
        """The feed after `since`; with `channel`, only that channel's events."""
        return [e for e in self._events[max(0, since) :] if channel is None or e.channel == channel]

    @property
    def last_event_seq(self) -> int:
        return len(self._events)

    @property
    def last_call_seq(self) -> int:
        return self._calls[-1].seq if self._calls else 0

    def post_times(self, channel: str) -> list[float]:
        """When (state clock) each accepted chat.postMessage in `channel` was stored."""
        return list(self._post_times.get(channel, []))
