"""An incident's timeline as Slack blocks (`/incident timeline`): every string from the
record escaped (bot/mentions.py), nobody mentioned live (a review reads, it pings no one)."""

from __future__ import annotations

from bot import block_kit, messages
from bot.block_kit import Block
from bot.incidents.timeline import Event, Timeline
from bot.incidents.timeline_export import verified_line
from bot.mentions import code, escape
from bot.outbox import Message

# Lines per section stay well under Slack's 3000 characters; sections under its 50 blocks.
LINES_PER_SECTION = 10
SECTIONS = 6


def _who(e: Event) -> str:
    if e.actor_name and e.actor and e.actor_name != e.actor:
        return f"{escape(e.actor_name)} ({code(e.actor)})"
    return code(e.actor or e.actor_name) if (e.actor or e.actor_name) else ""


def _line(e: Event) -> str:
    refs = []
    if e.audit_seq is not None:
        refs.append(f"audit #{e.audit_seq}")
    if e.operation_id:
        refs.append(f"op {code(e.operation_id)}")
    tail = f" · {' · '.join(refs)}" if refs else ""
    summary = escape(block_kit.clip(" ".join(e.summary.split()), 200))
    return f"`{e.at:%H:%M:%S}` *{escape(e.kind)}* {_who(e)} {summary}{tail}"


def _span(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs:02d} s"


def timeline_message(t: Timeline) -> Message:
    i, d = t.incident, t.durations()
    title = messages.timeline_title(i.id)
    out: list[Block] = [
        block_kit.header(title),
        block_kit.section(f"*{escape(i.title)}* [{escape(i.severity)}] · {escape(i.status)}"),
        block_kit.fields([
            ("To acknowledge", _span(d["to_acknowledge_seconds"])),
            ("To mitigate", _span(d["to_mitigate_seconds"])),
            ("To resolve", _span(d["to_resolve_seconds"])),
            ("Paged", " ".join(code(p) for p in t.paged_users + t.paged_groups) or "—"),
        ]),
    ]  # fmt: skip
    lines = [_line(e) for e in t.events]
    shown = lines[: LINES_PER_SECTION * SECTIONS]
    for start in range(0, len(shown), LINES_PER_SECTION):
        out.append(block_kit.section("\n".join(shown[start : start + LINES_PER_SECTION])))
    if len(lines) > len(shown):
        out.append(block_kit.context(messages.timeline_more(len(lines) - len(shown), i.id)))
    out.append(block_kit.context(escape(verified_line(t))))
    return Message(text=title, blocks=out)
