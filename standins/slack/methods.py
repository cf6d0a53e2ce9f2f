"""The Web API methods the stand-in implements, free of HTTP.

Each method is synchronous: it checks every argument first and changes the state only
once the call is accepted, so a refused call leaves nothing behind.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from standins.slack.blockkit import Problem, validate_message, validate_view
from standins.slack.directory import (
    BOT_ID,
    BOT_NAME,
    BOT_USER_ID,
    TEAM_ID,
    TEAM_NAME,
    TEAM_URL,
)
from standins.slack.models import JsonDict, Message, View
from standins.slack.state import StandInState

PACE_RETRY_AFTER = 1
APP_ID = "A0WATCH01"


@dataclass(frozen=True)
class Answer:
    """What to send back: a JSON body, or plain `text` (response_urls, outages)."""

    body: JsonDict = field(default_factory=dict)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    error_name: str | None = None  # for plain-text answers, which carry no `error` field

    @property
    def error(self) -> str | None:
        if self.error_name is not None or self.text is not None:
            return self.error_name
        return None if self.body.get("ok") else str(self.body.get("error", "unknown_error"))


Method = Callable[[StandInState, JsonDict, int], Answer]


def ok(**data: Any) -> Answer:
    return Answer({"ok": True, **data})


def fail(error: str, status: int = 200) -> Answer:
    return Answer({"ok": False, "error": error}, status)


def refused(problem: Problem) -> Answer:
    return Answer(problem.to_json())


def rate_limited(retry_after: float) -> Answer:
    seconds = max(0, round(retry_after))
    return Answer({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": str(seconds)})


def decode_json_field(payload: JsonDict, key: str) -> tuple[Any, bool]:
    """A field that form bodies carry as a JSON string; (value, well_formed)."""
    value = payload.get(key)
    if not isinstance(value, str):
        return value, True
    try:
        return json.loads(value), True
    except ValueError:
        return None, False


def _text(payload: JsonDict) -> Any:
    return payload.get("text")


def _thread_ts(payload: JsonDict) -> str | None:
    # str() of a float thread_ts matches no message, as with Slack, so it ends up orphaned
    value = payload.get("thread_ts")
    return None if value in (None, "") else str(value)


def auth_test(state: StandInState, payload: JsonDict, call_seq: int) -> Answer:
    return ok(
        url=TEAM_URL,
        team=TEAM_NAME,
        user=BOT_NAME,
        team_id=TEAM_ID,
        user_id=BOT_USER_ID,
        bot_id=BOT_ID,
        is_enterprise_install=False,
    )


def _message_json(message: Message) -> JsonDict:
    return {**message.to_json(), "bot_id": BOT_ID}


def post_message(state: StandInState, payload: JsonDict, call_seq: int) -> Answer:
    channel = state.directory.resolve_channel(str(payload.get("channel") or ""))
    if channel is None:
        return fail("channel_not_found")
    blocks, well_formed = decode_json_field(payload, "blocks")
    if not well_formed:
        return fail("invalid_blocks_format")
    problem = validate_message(_text(payload), blocks)
    if problem is not None:
        return refused(problem)
    now = state.clock()
    if state.enforce_pace and not state.pacer.allows(channel.id, now):
        return rate_limited(PACE_RETRY_AFTER)
    state.pacer.take(channel.id, now)
    message = state.post_message(
        call_seq, channel.id, _text(payload) or "", blocks or [], _thread_ts(payload)
    )
    return ok(channel=channel.id, ts=message.ts, message=_message_json(message))


def _existing(state: StandInState, payload: JsonDict, ts_field: str) -> Message | Answer:
    """The message a call names by `channel` and `ts_field`, or Slack's error for it."""
    channel = state.directory.resolve_channel(str(payload.get("channel") or ""))
    if channel is None:
        return fail("channel_not_found")
    message = state.find_message(channel.id, str(payload.get(ts_field) or ""))
    return fail("message_not_found") if message is None else message


def update_message(state: StandInState, payload: JsonDict, call_seq: int) -> Answer:
    message = _existing(state, payload, "ts")
    if isinstance(message, Answer):
        return message
    blocks, well_formed = decode_json_field(payload, "blocks")
    if not well_formed:
        return fail("invalid_blocks_format")
    problem = validate_message(_text(payload), blocks)
    if problem is not None:
        return refused(problem)
    state.update_message(call_seq, message, _text(payload), blocks)
    return ok(
        channel=message.channel, ts=message.ts, text=message.text, message=_message_json(message)
    )


def post_ephemeral(state: StandInState, payload: JsonDict, call_seq: int) -> Answer:
    channel = state.directory.resolve_channel(str(payload.get("channel") or ""))
    if channel is None:
        return fail("channel_not_found")
    user = str(payload.get("user") or "")
    if user not in state.directory.users:
        return fail("user_not_found")
    blocks, well_formed = decode_json_field(payload, "blocks")
    if not well_formed:
        return fail("invalid_blocks_format")
    problem = validate_message(_text(payload), blocks)
    if problem is not None:
        return refused(problem)
    ephemeral = state.post_ephemeral(
        call_seq, channel.id, user, _text(payload) or "", blocks or [], _thread_ts(payload)
    )
    return ok(message_ts=ephemeral.message_ts)


def _view_arg(payload: JsonDict, kind: str) -> tuple[JsonDict | None, Answer | None]:
    """The `view` argument, checked against Slack's limits for a view of `kind`."""
    view, well_formed = decode_json_field(payload, "view")
    if not well_formed or not isinstance(view, dict):
        return None, fail("invalid_arguments")
    if view.get("type") != kind:
        return None, fail("invalid_arguments")
    problem = validate_view(view)
    return (None, refused(problem)) if problem is not None else (view, None)


def _with_ids(view: View) -> JsonDict:
    return {**view.to_json(), "team_id": TEAM_ID, "app_id": APP_ID}


def open_view(state: StandInState, payload: JsonDict, call_seq: int) -> Answer:
    trigger_id = str(payload.get("trigger_id") or "")
    if not trigger_id:
        return fail("invalid_arguments")
    view, refusal = _view_arg(payload, "modal")
    if refusal is not None or view is None:
        return refusal or fail("invalid_arguments")
    # Slack checks the trigger last: a malformed view does not spend it.
    problem = state.trigger_problem(trigger_id)
    if problem is not None:
        return fail(problem)
    return ok(view=_with_ids(state.open_view(call_seq, trigger_id, view)))


def update_view(state: StandInState, payload: JsonDict, call_seq: int) -> Answer:
    known = state.find_view(str(payload.get("view_id") or ""))
    if known is None:
        return fail("not_found")
    view, refusal = _view_arg(payload, known.kind)
    if refusal is not None or view is None:
        return refusal or fail("invalid_arguments")
    wanted_hash = payload.get("hash")
    if wanted_hash not in (None, "") and wanted_hash != known.hash:
        return fail("hash_conflict")
    return ok(view=_with_ids(state.update_view(call_seq, known, view)))


def publish_view(state: StandInState, payload: JsonDict, call_seq: int) -> Answer:
    user = str(payload.get("user_id") or "")
    if user not in state.directory.users:
        return fail("user_not_found")
    view, refusal = _view_arg(payload, "home")
    if refusal is not None or view is None:
        return refusal or fail("invalid_arguments")
    current = state.home_of(user)
    wanted_hash = payload.get("hash")
    if current is not None and wanted_hash not in (None, "") and wanted_hash != current.hash:
        return fail("hash_conflict")
    return ok(view=_with_ids(state.publish_home(call_seq, user, view)))


def user_info(state: StandInState, payload: JsonDict, call_seq: int) -> Answer:
    user = state.directory.users.get(str(payload.get("user") or ""))
    return fail("user_not_found") if user is None else ok(user=user.to_json())


def missing_scope(state: StandInState, needed: str) -> Answer | None:
    """Slack's answer to a method the app has no scope for: the scope it needs, and what
    the token was granted."""
    if needed in state.scopes:
        return None
    return Answer(
        {
            "ok": False,
            "error": "missing_scope",
            "needed": needed,
            "provided": ",".join(sorted(state.scopes)),
        }
    )


def usergroup_users(state: StandInState, payload: JsonDict, call_seq: int) -> Answer:
    """`{"ok": true, "users": ["U…", …]}`; `no_such_subteam` for an id the workspace has
    not, `missing_scope` without `usergroups:read`, `invalid_arguments` without an id."""
    refused_scope = missing_scope(state, "usergroups:read")
    if refused_scope is not None:
        return refused_scope
    group = payload.get("usergroup")
    if not isinstance(group, str) or not group:
        return fail("invalid_arguments")
    members = state.directory.usergroups.get(group)
    return fail("no_such_subteam") if members is None else ok(users=list(members))


def get_permalink(state: StandInState, payload: JsonDict, call_seq: int) -> Answer:
    """`{"ok": true, "channel": …, "permalink": …}` for a message the channel has; a reply's
    link carries its thread, as Slack's does."""
    message = _existing(state, payload, "message_ts")
    if isinstance(message, Answer):
        return message
    link = f"{TEAM_URL}archives/{message.channel}/p{message.ts.replace('.', '')}"
    if message.thread_ts is not None:
        link += f"?thread_ts={message.thread_ts}&cid={message.channel}"
    return ok(channel=message.channel, permalink=link)


def conversation_info(state: StandInState, payload: JsonDict, call_seq: int) -> Answer:
    channel = state.directory.resolve_channel(str(payload.get("channel") or ""))
    return fail("channel_not_found") if channel is None else ok(channel=channel.to_json())


MAX_UPLOAD_BYTES = 1024**3  # Slack's limit for one file


def _length(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdecimal():
        return int(value)
    return None


def get_upload_url(state: StandInState, payload: JsonDict, call_seq: int) -> Answer:
    refused_scope = missing_scope(state, "files:write")
    if refused_scope is not None:
        return refused_scope
    filename, raw_length = payload.get("filename"), payload.get("length")
    if raw_length in (None, "", 0, "0") or not filename:
        return fail("missing_argument")  # Slack: also what a length of 0 answers
    length = _length(raw_length)
    if not isinstance(filename, str) or length is None or length < 0:
        return fail("invalid_arguments")
    if length > MAX_UPLOAD_BYTES:
        return fail("file_upload_size_restricted")
    upload = state.reserve_upload(filename, length)
    return ok(upload_url=f"{state.base_url}/upload/{upload.id}", file_id=upload.id)


def complete_upload(state: StandInState, payload: JsonDict, call_seq: int) -> Answer:
    refused_scope = missing_scope(state, "files:write")
    if refused_scope is not None:
        return refused_scope
    files, well_formed = decode_json_field(payload, "files")
    if not well_formed or not isinstance(files, list) or not files:
        return fail("invalid_arguments")
    if not all(isinstance(f, dict) and isinstance(f.get("id"), str) for f in files):
        return fail("invalid_arguments")
    channel_id = payload.get("channel_id") or None
    thread_ts = _thread_ts(payload)
    if thread_ts is not None and channel_id is None:
        return fail("invalid_arguments")  # a thread is in one channel
    channel = None
    if channel_id is not None:
        channel = state.directory.resolve_channel(str(channel_id))
        if channel is None:
            return fail("channel_not_found")
    uploads = [state.upload(f["id"]) for f in files]
    if any(u is None or u.content is None or u.shared for u in uploads):
        return fail("file_not_found")  # never reserved, its bytes never came, or shared
    shared = []
    for spec, upload in zip(files, uploads, strict=True):
        assert upload is not None
        title = spec.get("title")
        state.share_upload(
            call_seq, upload, title if isinstance(title, str) else None,
            None if channel is None else channel.id, thread_ts,
        )  # fmt: skip
        shared.append(upload.to_json())
    return ok(files=shared)


METHODS: dict[str, Method] = {
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
    "auth.test": auth_test,
    "chat.postMessage": post_message,
    "chat.update": update_message,
    "chat.postEphemeral": post_ephemeral,
    "views.open": open_view,
    "views.update": update_view,
    "views.publish": publish_view,
    "users.info": user_info,
    "usergroups.users.list": usergroup_users,
    "chat.getPermalink": get_permalink,
    "conversations.info": conversation_info,
}
