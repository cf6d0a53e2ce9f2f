"""Modals: open one on a click's `trigger_id`, seal where it came from, read it back.

A modal is opened straight through the Web API, not through the outbox: Slack's
`trigger_id` is valid for 3 s and once, so a durable retry minutes later could only fail
(docs/actions.md, "Modals"). Everything else a modal causes (previews, cards, replies)
goes through the outbox as usual.

`private_metadata` comes back with the submission. Slack signs the request, but the bot
still seals what it put there (HMAC under a key derived from the signing secret) and
reads back only a sealed origin: a submission with forged or stale metadata is refused,
and nothing in it ever decides who may act (the permission step does, again).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from typing import Any

from bot.block_kit import Block, clip
from bot.runtime import Runtime
from integrations.slack.errors import SlackError
from integrations.slack.web import error_name

log = logging.getLogger(__name__)

# Slack's limits for a modal (docs.slack.dev, "Modals").
TITLE_LIMIT = 24
METADATA_LIMIT = 3000
LABEL_LIMIT = 2000
OPTION_TEXT_LIMIT = 75
OPTION_VALUE_LIMIT = 150
MAX_OPTIONS = 100
MAX_INPUT_CHARS = 3000


def _key(rt: Runtime) -> bytes:
    secret = rt.config.slack.signing_secret.get_secret_value().encode()
    return hmac.new(secret, b"watchkeeper private_metadata v1", hashlib.sha256).digest()


def seal(rt: Runtime, origin: dict[str, Any]) -> str:
    """`origin` as `private_metadata`: compact JSON and its MAC."""
    body = base64.urlsafe_b64encode(
        json.dumps(origin, separators=(",", ":"), sort_keys=True).encode()
    ).decode()
    mac = hmac.new(_key(rt), body.encode(), hashlib.sha256).hexdigest()[:32]
    sealed = f"{body}.{mac}"
    if len(sealed) > METADATA_LIMIT:
        raise ValueError("modal origin too large for private_metadata")
    return sealed


def unseal(rt: Runtime, text: object) -> dict[str, Any] | None:
    """The origin `seal` wrote, or None for anything else (forged, cut, not ours)."""
    if not isinstance(text, str) or len(text) > METADATA_LIMIT or "." not in text:
        return None
    body, _, mac = text.rpartition(".")
    wanted = hmac.new(_key(rt), body.encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(mac, wanted):
        return None
    try:
        origin = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        return None
    return origin if isinstance(origin, dict) else None


async def open_modal(rt: Runtime, trigger_id: str | None, view: dict[str, Any]) -> str | None:
    """Open `view` on the interaction's trigger; None when Slack took it, else why not
    (Slack's error name), for the caller to answer with."""
    web = rt.slack_direct
    if web is None or not trigger_id:
        return "no_trigger"
    try:
        await web.call("views.open", {"trigger_id": trigger_id, "view": view})
    except SlackError as exc:
        log.warning("views.open failed: %s", error_name(exc))
        return error_name(exc)
    return None


def values_of(view: object) -> dict[str, str | list[str]]:
    """`view.state.values`, one value per block: what was typed, picked or checked.
    Anything not shaped as Slack sends it reads as absent."""
    state = view.get("state") if isinstance(view, dict) else None
    blocks = state.get("values") if isinstance(state, dict) else None
    found: dict[str, str | list[str]] = {}
    if not isinstance(blocks, dict):
        return found
    for block_id, elements in blocks.items():
        if not isinstance(elements, dict):
            continue
        for element in elements.values():
            value = _element_value(element)
            if value is not None and isinstance(block_id, str):
                found[block_id] = value
    return found


def _element_value(element: object) -> str | list[str] | None:
    if not isinstance(element, dict):
        return None
    if isinstance(element.get("value"), str):
        return str(element["value"])[:MAX_INPUT_CHARS]
    selected = element.get("selected_option")
    if isinstance(selected, dict) and isinstance(selected.get("value"), str):
        return str(selected["value"])
    many = element.get("selected_options")
    if isinstance(many, list):
        return [
            str(o["value"]) for o in many if isinstance(o, dict) and isinstance(o.get("value"), str)
        ]
    return None


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit)}


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(text, OPTION_TEXT_LIMIT), "value": value[:OPTION_VALUE_LIMIT]}


def text_input(
    block_id: str,
    label: str,
    *,
    initial: str | None = None,
    hint: str | None = None,
    optional: bool = False,
    multiline: bool = False,
) -> Block:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": multiline,
        "max_length": MAX_INPUT_CHARS,
    }
    if initial:
        element["initial_value"] = initial[:MAX_INPUT_CHARS]
    return _input(block_id, label, element, hint=hint, optional=optional)


def select(
    block_id: str,
    label: str,
    options: list[dict[str, Any]],
    *,
    initial: str | None = None,
    hint: str | None = None,
    optional: bool = False,
) -> Block:
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": "value",
        "options": options[:MAX_OPTIONS],
    }
    chosen = next((o for o in options if o["value"] == initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return _input(block_id, label, element, hint=hint, optional=optional)


def checkboxes(
    block_id: str,
    label: str,
    options: list[dict[str, Any]],
    *,
    initial: tuple[str, ...] = (),
    hint: str | None = None,
) -> Block:
    element: dict[str, Any] = {"type": "checkboxes", "action_id": "value", "options": options[:10]}
    chosen = [o for o in options if o["value"] in initial]
    if chosen:
        element["initial_options"] = chosen
    return _input(block_id, label, element, hint=hint, optional=True)


def _input(
    block_id: str, label: str, element: dict[str, Any], *, hint: str | None, optional: bool
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": _plain(label, LABEL_LIMIT),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = _plain(hint, LABEL_LIMIT)
    return block


def modal(
    rt: Runtime,
    *,
    callback_id: str,
    title: str,
    submit: str,
    blocks: list[Block],
    origin: dict[str, Any],
) -> dict[str, Any]:
    """A modal view whose origin comes back sealed with its submission."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": _plain(title, TITLE_LIMIT),
        "submit": _plain(submit, TITLE_LIMIT),
        "close": _plain("Cancel", TITLE_LIMIT),
        "blocks": blocks,
        "private_metadata": seal(rt, origin),
    }
