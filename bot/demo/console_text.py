"""Block Kit as readable console text: threads indented, buttons numbered for clicking."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Button:
    """A button shown in the console, with what a click must send back to the bot."""

    number: int
    text: str
    action_id: str
    block_id: str
    value: str | None
    channel: str | None
    message_ts: str | None
    ephemeral: bool
    message: JsonDict
    # Set for a button on a view (the Home tab): the click carries the view, not a message.
    view: JsonDict | None = None


def _plain(mrkdwn: str) -> str:
    # Slack's <url|label> and <@U123> forms, shown as a person reads them.
    text = re.sub(r"<(https?://[^|>]+)\|([^>]+)>", r"\2 (\1)", mrkdwn)
    # Dates as their fallback text, user groups by id, as Slack shows them (roughly).
    text = re.sub(r"<!date\^[^|>]*\|([^>]+)>", r"\1", text)
    text = re.sub(r"<!subteam\^([A-Z0-9]+)(?:\|[^>]*)?>", r"@\1", text)
    return re.sub(r"<@([UW][A-Z0-9]+)>", r"@\1", text)


def _text_of(element: JsonDict | None) -> str:
    if not element:
        return ""
    return _plain(str(element.get("text", "")))


MODAL_HINT = "(fill it: /set FIELD VALUE (a,b for boxes), then /submit; /cancel closes it)"


def _input_line(block: JsonDict) -> str:
    element = block.get("element") or {}
    label = _text_of(block.get("label"))
    choices = [str(o.get("value")) for o in element.get("options", [])]
    if element.get("type") == "static_select":
        now = (element.get("initial_option") or {}).get("value")
        shown = " | ".join(choices) or "(none)"
        return f"<{block.get('block_id')}> {label}: one of {shown}" + (f" [{now}]" if now else "")
    if element.get("type") == "checkboxes":
        return f"<{block.get('block_id')}> {label}: any of {', '.join(choices)}"
    now = element.get("initial_value")
    return f"<{block.get('block_id')}> {label}" + (f" [{now}]" if now else "")


class Renderer:
    def __init__(self) -> None:
        self.buttons: dict[int, Button] = {}
        self._next = 1

    def _button(self, element: JsonDict, block_id: str, where: JsonDict) -> str:
        number = self._next
        self._next += 1
        self.buttons[number] = Button(
            number=number,
            text=_text_of(element.get("text")),
            action_id=str(element.get("action_id", "")),
            block_id=block_id,
            value=element.get("value"),
            channel=where.get("channel"),
            message_ts=where.get("ts"),
            ephemeral=bool(where.get("ephemeral")),
            message=where.get("message", {}),
            view=where.get("view"),
        )
        style = {"primary": "*", "danger": "!"}.get(str(element.get("style", "")), "")
        return f"[{number}{style} {self.buttons[number].text}]"

    def blocks(self, blocks: list[JsonDict], where: JsonDict) -> list[str]:
        lines: list[str] = []
        for block in blocks:
            kind = block.get("type")
            block_id = str(block.get("block_id", ""))
            if kind == "header":
                lines.append(f"== {_text_of(block.get('text'))} ==")
            elif kind == "section":
                if block.get("text"):
                    lines.extend(_text_of(block.get("text")).splitlines())
                for field in block.get("fields", []):
                    lines.append("  " + _text_of(field).replace("\n", ": ", 1))
                accessory = block.get("accessory")
                if isinstance(accessory, dict) and accessory.get("type") == "button":
                    lines.append(self._button(accessory, block_id, where))
            elif kind == "context":
                lines.append(
                    "  (" + " · ".join(_text_of(e) for e in block.get("elements", [])) + ")"
                )
            elif kind == "divider":
                lines.append("  ----")
            elif kind == "input":
                lines.append(_input_line(block))
            elif kind == "actions":
                buttons = [
                    self._button(e, block_id, where)
                    for e in block.get("elements", [])
                    if e.get("type") == "button"
                ]
                lines.append(" ".join(buttons))
        return lines

    def view(self, event: JsonDict, names: dict[str, str]) -> list[str]:
        """A modal opened or updated, or a Home tab published, for one person."""
        view = {**(event.get("view") or {}), "id": event.get("view_id")}
        user = names.get(str(event.get("user", "")), str(event.get("user", "")))
        if event.get("kind") == "home":
            head = f"Home tab of {user}"
        else:
            head = f"modal {_text_of(view.get('title'))!r} (only {user} sees this)"
        lines = self.blocks(view.get("blocks") or [], {"view": view})
        if event.get("kind") != "home" and any(b.get("type") == "input" for b in view["blocks"]):
            lines.append(MODAL_HINT)
        return [head] + ["  | " + line for line in lines]

    def event(self, event: JsonDict, names: dict[str, str]) -> list[str]:
        """Lines for one stand-in feed event (a post, an edit, an ephemeral, a response)."""
        kind = event.get("kind")
        if kind in ("view", "view_update", "home"):
            return self.view(event, names)
        where = {
            "channel": event.get("channel"),
            "ts": event.get("ts"),
            "ephemeral": kind in ("ephemeral", "response"),
            "message": {
                "ts": event.get("ts"),
                "text": event.get("text"),
                "blocks": event.get("blocks"),
            },
        }
        body = (
            self.blocks(event.get("blocks") or [], where)
            or _plain(str(event.get("text", ""))).splitlines()
        )
        user = names.get(str(event.get("user", "")), str(event.get("user", "")))
        label = {
            "message": f"#{event.get('channel')}",
            "edit": f"#{event.get('channel')} (edited)",
            "ephemeral": f"#{event.get('channel')} (only {user} sees this)",
            "response": f"#{event.get('channel')} (only {user} sees this)"
            if event.get("response_type") != "in_channel"
            else f"#{event.get('channel')}",
        }.get(str(kind), str(kind))
        threaded = bool(event.get("thread_ts")) and event.get("thread_ts") != event.get("ts")
        indent = "    ↳ " if threaded else ""
        pad = "      " if threaded else "  "
        return [f"{indent}{label}"] + [pad + line for line in body]
