"""Slack's documented Block Kit limits, answered with Slack's error names.

Sources: docs.slack.dev Block Kit reference (blocks, block elements, composition
objects, modals) and the chat.postMessage reference. Slack answers a limit breach with
`invalid_blocks` plus `response_metadata.messages` naming the JSON pointer; the stand-in
does the same so a failing test says which block broke.

One deliberate difference: Slack documents that `text` over 40,000 characters is
truncated, while `msg_too_long` is also among chat.postMessage's errors. The stand-in
refuses with `msg_too_long`, so the bot can never rely on silent truncation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100  # modals and Home tabs
MAX_MESSAGE_TEXT = 40_000
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_MARKDOWN_BLOCK_TEXT = 12_000
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_ID = 255  # block_id and action_id
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_BUTTON_URL = 3000
MAX_VIEW_TITLE = 24  # modal title, submit and close
MAX_PRIVATE_METADATA = 3000
MAX_CALLBACK_ID = 255
MAX_INPUT_LABEL = 2000

BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "context_actions",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "video",
    }
)
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})


@dataclass(frozen=True)
class Problem:
    error: str  # Slack's error name
    detail: str  # "[ERROR] ... [json-pointer:/blocks/0/text/text]", as Slack words it

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": False,
            "error": self.error,
            "response_metadata": {"messages": [self.detail]},
        }


class _Invalid(Exception):
    def __init__(self, pointer: str, why: str) -> None:
        self.pointer = pointer
        self.why = why


def validate_message(text: Any, blocks: Any) -> Problem | None:
    """The first problem with a message's `text` and `blocks` (both may be None)."""
    if text is not None and not isinstance(text, str):
        return Problem("invalid_arguments", "[ERROR] text must be a string")
    if text and len(text) > MAX_MESSAGE_TEXT:
        return Problem("msg_too_long", f"[ERROR] text is over {MAX_MESSAGE_TEXT} characters")
    if blocks is not None:
        problem = validate_blocks(blocks, MAX_MESSAGE_BLOCKS, "/blocks")
        if problem is not None:
            return problem
    if not text and not blocks:
        return Problem("no_text", "[ERROR] one of text or blocks is required")
    return None


def validate_blocks(blocks: Any, max_blocks: int, pointer: str) -> Problem | None:
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        return Problem("invalid_blocks_format", "[ERROR] blocks must be an array of objects")
    try:
        if len(blocks) > max_blocks:
            raise _Invalid(pointer, f"no more than {max_blocks} items allowed")
        for index, block in enumerate(blocks):
            _check_block(block, f"{pointer}/{index}")
    except _Invalid as bad:
        return Problem("invalid_blocks", f"[ERROR] {bad.why} [json-pointer:{bad.pointer}]")
    return None


def validate_view(view: Any) -> Problem | None:
    if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
        return Problem("invalid_arguments", "[ERROR] view must be an object of type modal")
    try:
        if view["type"] == "modal":
            _check_text(view.get("title"), "/view/title", MAX_VIEW_TITLE, plain_only=True)
            for key in ("submit", "close"):
                if key in view:
                    _check_text(view[key], f"/view/{key}", MAX_VIEW_TITLE, plain_only=True)
            has_input = any(
                isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or []
            )
            if has_input and "submit" not in view:
                raise _Invalid("/view/submit", "a view with input blocks needs a submit button")
        _check_length(
            view.get("private_metadata"), "/view/private_metadata", MAX_PRIVATE_METADATA,
            required=False,
        )  # fmt: skip
        _check_length(view.get("callback_id"), "/view/callback_id", MAX_CALLBACK_ID, required=False)
    except _Invalid as bad:
        return Problem("invalid_arguments", f"[ERROR] {bad.why} [json-pointer:{bad.pointer}]")
    return validate_blocks(view.get("blocks", []), MAX_VIEW_BLOCKS, "/view/blocks")


def _check_block(block: dict[str, Any], at: str) -> None:
    kind = block.get("type")
    if kind not in BLOCK_TYPES:
        raise _Invalid(f"{at}/type", f"unknown block type {kind!r}")
    _check_id(block, "block_id", at)
    if kind == "section":
        _check_section(block, at)
    elif kind == "header":
        _check_text(block.get("text"), f"{at}/text", MAX_HEADER_TEXT, plain_only=True)
    elif kind == "markdown":
        _check_length(block.get("text"), f"{at}/text", MAX_MARKDOWN_BLOCK_TEXT)
    elif kind == "actions":
        for index, element in enumerate(_elements(block, at, MAX_ACTIONS_ELEMENTS)):
            _check_element(element, f"{at}/elements/{index}")
    elif kind == "context":
        _elements(block, at, MAX_CONTEXT_ELEMENTS)
    elif kind == "input":
        _check_text(block.get("label"), f"{at}/label", MAX_INPUT_LABEL, plain_only=True)
        if not isinstance(block.get("element"), dict):
            raise _Invalid(f"{at}/element", "must be an object")
        _check_element(block["element"], f"{at}/element")


def _check_section(block: dict[str, Any], at: str) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and not fields:
        raise _Invalid(at, "must provide either text or fields")
    if text is not None:
        _check_text(text, f"{at}/text", MAX_SECTION_TEXT)
    if fields is not None:
        if not isinstance(fields, list):
            raise _Invalid(f"{at}/fields", "must be an array")
        if len(fields) > MAX_SECTION_FIELDS:
            raise _Invalid(f"{at}/fields", f"no more than {MAX_SECTION_FIELDS} items allowed")
        for index, item in enumerate(fields):
            _check_text(item, f"{at}/fields/{index}", MAX_FIELD_TEXT)
    accessory = block.get("accessory")
    if accessory is not None:
        _check_element(accessory, f"{at}/accessory")


def _elements(block: dict[str, Any], at: str, limit: int) -> list[dict[str, Any]]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        raise _Invalid(f"{at}/elements", "must be a non-empty array")
    if len(elements) > limit:
        raise _Invalid(f"{at}/elements", f"no more than {limit} items allowed")
    if not all(isinstance(e, dict) for e in elements):
        raise _Invalid(f"{at}/elements", "items must be objects")
    return elements


def _check_element(element: Any, at: str) -> None:
    if not isinstance(element, dict):
        raise _Invalid(at, "must be an object")
    _check_id(element, "action_id", at)
    if element.get("type") == "button":
        _check_text(element.get("text"), f"{at}/text", MAX_BUTTON_TEXT, plain_only=True)
        _check_length(element.get("value"), f"{at}/value", MAX_BUTTON_VALUE, required=False)
        _check_length(element.get("url"), f"{at}/url", MAX_BUTTON_URL, required=False)


def _check_id(obj: dict[str, Any], key: str, at: str) -> None:
    _check_length(obj.get(key), f"{at}/{key}", MAX_ID, required=False)


def _check_text(obj: Any, at: str, limit: int, *, plain_only: bool = False) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in TEXT_TYPES:
        raise _Invalid(at, "must be a text object (plain_text or mrkdwn)")
    if plain_only and obj["type"] != "plain_text":
        raise _Invalid(f"{at}/type", "must be plain_text")
    _check_length(obj.get("text"), f"{at}/text", limit)


def _check_length(value: Any, at: str, limit: int, *, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value):
        raise _Invalid(at, "must be a non-empty string")
    if len(value) > limit:
        raise _Invalid(at, f"must be less than {limit + 1} characters")
