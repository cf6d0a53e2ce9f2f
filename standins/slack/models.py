"""What the Slack stand-in remembers: plain records, serialisable with `to_json()`.

Records are mutable only where Slack's own objects change (a message's text and blocks
on `chat.update`); everything else is written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

JsonDict = dict[str, Any]
EventKind = Literal["message", "edit", "ephemeral", "response", "view", "view_update", "home"]


@dataclass(frozen=True)
class Call:
    """One HTTP request to the Web API or to a response_url, as answered."""

    seq: int
    method: str  # "chat.postMessage", ..., or "response_url"
    payload: JsonDict  # without any `token` field: secrets never leave the stand-in
    at: float  # the state's monotonic clock
    status: int  # HTTP status answered; 0 when the client gave up on a hang
    error: str | None  # Slack's error name, "http_503", "hang", or None on success

    def to_json(self) -> JsonDict:
        return {
            "seq": self.seq,
            "method": self.method,
            "payload": self.payload,
            "at": self.at,
            "status": self.status,
            "error": self.error,
        }


@dataclass
class Message:
    channel: str
    ts: str
    user: str  # the bot's user id: only the bot posts through the Web API
    text: str
    blocks: list[JsonDict]
    thread_ts: str | None = None
    edits: int = 0
    # Slack answers ok to a reply whose thread_ts names no message, and the reply is
    # then shown nowhere; the flag lets a test catch that silent loss.
    orphan: bool = False

    def to_json(self) -> JsonDict:
        data: JsonDict = {
            "type": "message",
            "user": self.user,
            "text": self.text,
            "blocks": self.blocks,
            "ts": self.ts,
        }
        if self.thread_ts is not None:
            data["thread_ts"] = self.thread_ts
        if self.edits:
            data["edited"] = {"user": self.user, "count": self.edits}
        return data


@dataclass(frozen=True)
class Ephemeral:
    channel: str
    user: str
    text: str
    blocks: list[JsonDict]
    message_ts: str
    thread_ts: str | None = None


@dataclass(frozen=True)
class ResponseTarget:
    """Where a response_url leads: the interaction it was handed out for."""

    token: str
    channel: str
    user: str
    message_ts: str | None  # the message a button sat on, for replace_original
    issued_at: float


@dataclass(frozen=True)
class ResponsePost:
    token: str
    channel: str
    user: str
    text: str
    blocks: list[JsonDict]
    response_type: str  # "ephemeral" (Slack's default) or "in_channel"
    replace_original: bool
    delete_original: bool
    payload: JsonDict


@dataclass
class View:
    """A modal (opened with a trigger) or a user's Home tab (published); `views.update`
    replaces `view` and moves `hash` on, as Slack does."""

    id: str
    trigger_id: str
    view: JsonDict
    user: str = ""
    hash: str = ""
    updates: int = 0

    @property
    def kind(self) -> str:
        return str(self.view.get("type", ""))

    def to_json(self) -> JsonDict:
        return {**self.view, "id": self.id, "hash": self.hash}


@dataclass(frozen=True)
class User:
    id: str
    name: str
    real_name: str
    is_bot: bool = False
    tz: str = "Europe/Paris"

    def to_json(self) -> JsonDict:
        return {
            "id": self.id,
            "name": self.name,
            "real_name": self.real_name,
            "is_bot": self.is_bot,
            "tz": self.tz,
            "deleted": False,
            "profile": {"real_name": self.real_name, "display_name": self.name},
        }


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_im: bool = False

    def to_json(self) -> JsonDict:
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not (self.is_private or self.is_im),
            "is_group": self.is_private,
            "is_im": self.is_im,
            "is_private": self.is_private or self.is_im,
            "is_member": True,
            "is_archived": False,
        }


@dataclass(frozen=True)
class Event:
    """One entry of the observation feed: what a person in the workspace would see change."""

    seq: int
    kind: EventKind
    call_seq: int  # the call that caused it
    at: float
    channel: str | None
    ts: str | None
    data: JsonDict = field(default_factory=dict)

    def to_json(self) -> JsonDict:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "call_seq": self.call_seq,
            "at": self.at,
            "channel": self.channel,
            "ts": self.ts,
            **self.data,
        }


@dataclass
class Upload:
    """A file of the external upload: reserved (`files.getUploadURLExternal`), its bytes
    received at the upload URL, then shared (`files.completeUploadExternal`)."""

    id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    shared: bool = False

    def to_json(self) -> JsonDict:
        return {
            "id": self.id,
            "name": self.filename,
            "title": self.title or self.filename,
            "size": self.length,
            "channels": [self.channel] if self.channel else [],
        }
