"""The handoff summary as Block Kit: short sections, readable on a phone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import block_kit
from bot.block_kit import Block
from bot.mentions import code, escape, mention_user
from bot.oncall.roster import mention
from bot.oncall.rotation import Shift
from bot.oncall.summary import Event, ShiftFacts, note_text
from bot.outbox import Message

MAX_LINES = 8


def _duration(delta: timedelta | None) -> str:
    if delta is None:
        return "–"
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


def _who(event: Event) -> str:
    if event.actor.startswith(("U", "W")):
        return mention_user(event.actor)
    return escape(event.actor_name or event.actor)


def _lines(events: list[Event], describe: str) -> list[str]:
    shown = [
        describe.format(
            who=_who(e), target=escape(e.target), outcome=escape(e.outcome), ref=escape(e.ref or "")
        )
        for e in events[:MAX_LINES]
    ]
    if len(events) > MAX_LINES:
        shown.append(f"… and {len(events) - MAX_LINES} more")
    return shown


def _local(when: datetime, zone: ZoneInfo) -> str:
    return when.astimezone(zone).strftime("%a %d %b %H:%M %Z")


def handoff_message(
    rotation: str,
    ended: Shift,
    incoming: str,
    outgoing: str,
    facts: ShiftFacts,
    zone: ZoneInfo,
    *,
    late: bool,
    note: str | None = None,
) -> Message:
    """`note`: said under the shift times, e.g. that the schedule came from a stale cache."""
    title = f"Handoff {rotation}: {mention(outgoing)} → {mention(incoming)}"
    shift = f"Shift {_local(ended.start, zone)} → {_local(ended.end, zone)}"
    out: list[Block] = [
        block_kit.header(f"Handoff: {rotation}"),
        block_kit.section(
            f"{mention(outgoing)} hands over to {mention(incoming)}"
            + (" · *posted late*" if late else "")
        ),
        block_kit.context(shift + (f"\n{note}" if note else "")),
        block_kit.fields(
            [
                ("Incidents opened", str(len(facts.opened))),
                ("Resolved", str(len(facts.resolved))),
                ("Median time to ack", _duration(facts.median_time_to_ack)),
                ("Median time to resolve", _duration(facts.median_time_to_resolve)),
                ("Actions run", str(len(facts.actions))),
                ("Fixed by automation", str(facts.fixed_without_a_human)),
            ]
        ),
    ]
    sections: list[tuple[str, list[str]]] = [
        ("Noisiest", [f"{code(target)} × {count}" for target, count in facts.noisiest]),
        ("Actions", _lines(facts.actions, "{who}: {target} → {outcome}")),
        ("Approvals", _lines(facts.approvals, "{who} {outcome} {target}")),
        ("Denied", _lines(facts.denied, "{who}: {target} denied")),
        ("Refused clicks", _lines(facts.refused_clicks, "{who} may not decide on {target}")),
        ("Failed or unknown", _lines(facts.failed, "{target} → *{outcome}*")),
        ("Break-glass", _lines(facts.break_glass, "{who}: {target}")),
        ("Automation", _lines(facts.automation, "{target}: {outcome}")),
        ("Silences", _lines(facts.silences, "{who}: {target} ({outcome})")),
        ("Notes", [f"{_who(e)}: {escape(note_text(e))}" for e in facts.notes[:MAX_LINES]]),
        *facts.live,
    ]
    for name, lines in sections:
        if lines:
            out.append(block_kit.section(f"*{name}*\n" + "\n".join(lines)))
    if len(out) == 4:
        out.append(block_kit.section("A quiet shift: nothing was paged, run or changed."))
    return Message(text=title, blocks=out[:50])
