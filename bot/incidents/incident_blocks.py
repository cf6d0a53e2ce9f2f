"""Incident and storm messages as Block Kit: the root, kept current in place, and replies.

Rendering only: everything shown comes from the rows passed in (the fleet state is the
snapshot stored on the incident), so any transaction can re-render a root consistently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from bot import block_kit, messages
from bot.block_kit import Block, slack_date
from bot.fleet.snapshot import read_at, state_line
from bot.incidents.models import ACKNOWLEDGED, RESOLVED, Incident, Storm
from bot.mentions import code, escape, is_user_id, mention_user
from bot.outbox import Message
from integrations.pages import Page

SEVERITY_ICON = {
    "critical": ":red_circle:",
    "high": ":large_orange_circle:",
    "warning": ":large_yellow_circle:",
    "info": ":large_blue_circle:",
}
SILENCE_CHOICES = ("1h", "4h")


def duration(seconds: float) -> str:
    minutes = max(0, int(seconds // 60))
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours < 48 else f"{hours // 24} days"


def who(actor: str | None) -> str:
    if not actor:
        return "someone"
    return mention_user(actor) if is_user_id(actor) else code(actor)


def status_line(incident: Incident) -> str:
    if incident.status == RESOLVED and incident.resolved_at is not None:
        when = slack_date(incident.resolved_at)
        return f":white_check_mark: Resolved by {who(incident.resolved_by)} {when}"
    if incident.status == ACKNOWLEDGED and incident.acknowledged_at is not None:
        return (
            f":eyes: Acknowledged by {who(incident.acknowledged_by)} "
            f"{slack_date(incident.acknowledged_at)}"
        )
    return ":rotating_light: Triggered — not acknowledged"


def fleet_section(incident: Incident) -> str:
    """The fleet's state with the time it was read: "now" while the incident is open (the
    fleet watch keeps it current), as it was at resolution once resolved."""
    at = read_at(incident.fleet_state)
    when = f" · {slack_date(at)}" if at is not None else ""
    line = state_line(incident.fleet_state)
    if incident.status == RESOLVED:
        return f"*{messages.FLEET_AT_RESOLUTION}*{when} — {line}"
    return f"*{messages.FLEET_NOW}*{when} — {line}"


def headline(incident: Incident) -> str:
    """One line of mrkdwn: the page's words escaped (used as the notification text)."""
    where = f" — {escape(incident.service)}" if incident.service else ""
    return f"[{incident.severity.upper()}] {escape(incident.title)}{where} · {incident.status}"


@dataclass(frozen=True)
class Suggestion:
    """A repair action offered on the root: a button into the guarded action flow, and the
    same as a `/fleet` command to type."""

    action: str
    params: tuple[tuple[str, str], ...] = ()

    def command(self, service: str) -> str:
        return " ".join([f"/fleet {self.action} {service}", *(f"{k}={v}" for k, v in self.params)])

    def label(self) -> str:
        detail = " ".join(v for _, v in self.params)
        return block_kit.clip(f"{self.action.title()} {detail}".strip(), 75)


@dataclass(frozen=True)
class Suggestions:
    actions: tuple[Suggestion, ...] = ()


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _buttons(incident: Incident, suggestions: Suggestions) -> list[Block]:
    value = str(incident.id)
    out: list[Block] = []
    if incident.is_open:
        if incident.status != ACKNOWLEDGED:
            out.append(_button("Acknowledge", "incident:ack", value, "primary"))
        out.append(_button("Resolve", "incident:resolve", value))
        out += [_button(f"Silence {c}", f"incident:silence:{c}", value) for c in SILENCE_CHOICES]
        for n, s in enumerate(suggestions.actions[:6] if incident.service else ()):
            target = {"incident": incident.id, "action": s.action, "params": dict(s.params)}
            out.append(_button(s.label(), f"incident:act:{n}", json.dumps(target, sort_keys=True)))
        # Any other length, narrower matchers: picked in a modal (bot/incidents/silence_form.py).
        out.append(_button("Silence…", "incident:silence:pick", value))
    return out


def paging_block(mentions: str) -> Block:
    """Who a message pages, in its blocks where Slack shows it (a mention only in the
    fallback `text` notifies but is seen nowhere on screen)."""
    return block_kit.context(messages.paging(mentions))


def escalation_reply(mentions: str, text: str) -> Message:
    """An escalation in the thread: a new message, so its mentions ping again."""
    out = [paging_block(mentions)] if mentions else []
    return Message(text=text, blocks=[*out, block_kit.section(text)])


def incident_root(
    incident: Incident, *, now: datetime, suggestions: Suggestions, with_mentions: bool = False
) -> Message:
    icon = SEVERITY_ICON.get(incident.severity, ":red_circle:")
    kind = f" ({escape(incident.kind)})" if incident.kind else ""
    service = code(incident.service or "") + kind
    open_for = (incident.resolved_at or now) - incident.opened_at
    pairs = [
        ("Service", service if incident.service else "–"),
        ("Region", escape(incident.region or "–")),
        ("Status", status_line(incident)),
        ("Pages", f"{incident.page_count} ({incident.firing_count} firing)"),
        ("Opened", f"{slack_date(incident.opened_at)} · {duration(open_for.total_seconds())}"),
    ]
    if incident.assignee:
        pairs.append(("Assignee", who(incident.assignee)))
    if incident.silenced_until is not None and incident.silenced_until > now:
        pairs.append(("Silenced until", slack_date(incident.silenced_until)))
    out: list[Block] = [
        block_kit.header(f"{icon} {incident.severity.upper()} · {escape(incident.title)}"),
        block_kit.fields(pairs),
    ]
    if with_mentions and incident.mentions:
        # At the top. Slack notifies for the post only; the same block in later edits
        # (chat.update) keeps who was paged on screen without paging them again.
        out.insert(0, paging_block(incident.mentions))
    about = escape(incident.summary) if incident.summary else "_no summary_"
    links = [f"<{incident.runbook_url}|Runbook>"] if incident.runbook_url else []
    links += [f"<{incident.source_url}|Source>"] if incident.source_url else []
    out.append(block_kit.section(about + ("\n" + " · ".join(links) if links else "")))
    if incident.service:
        out.append(block_kit.section(fleet_section(incident)))
    buttons = _buttons(incident, suggestions)
    if buttons:
        out.append({"type": "actions", "block_id": f"incident-{incident.id}", "elements": buttons})
    if incident.is_open and incident.service and suggestions.actions:
        hints = " · ".join(code(s.command(incident.service)) for s in suggestions.actions)
        out.append(block_kit.context(messages.incident_suggested(hints)))
    out.append(
        block_kit.context(
            messages.incident_footer(incident.id, escape(incident.group_key), incident.route)
        )
    )
    text = headline(incident)
    if with_mentions and incident.mentions:
        text = f"{incident.mentions} {text}"
    return Message(text=text, blocks=out)


def page_lines_reply(lines: list[str], more: int) -> Message:
    body = "\n".join(lines) + (f"\n… and {more} more" if more else "")
    count = len(lines) + more
    title = messages.incident_pages_title(count)
    return Message(text=f"{title}\n{body}", blocks=[block_kit.section(f"*{title}*\n{body}")])


# Labels that tell one alert of a group from another, most specific first.
DETAIL_LABELS = ("instance", "member", "pod", "host", "node")


def page_line(page: Page) -> str:
    icon = ":white_check_mark:" if page.status == RESOLVED else ":small_red_triangle:"
    where = f" on {code(page.service)}" if page.service else ""
    detail = next((page.labels[k] for k in DETAIL_LABELS if page.labels.get(k)), None)
    which = f" ({escape(block_kit.clip(detail, 60))})" if detail else ""
    note = f" — {escape(block_kit.clip(page.summary, 140))}" if page.summary else ""
    return f"{icon} {code(block_kit.clip(page.title, 80))}{where}{which} {page.status}{note}"


@dataclass(frozen=True)
class StormCounts:
    by_status: dict[str, int]
    services: int
    top_titles: list[tuple[str, int]]


def storm_root(
    storm: Storm, counts: StormCounts, *, now: datetime, with_mentions: bool = False
) -> Message:
    label, _, value = (escape(part) for part in storm.storm_key.partition("="))
    age = (now - storm.started_at).total_seconds()
    triggered = counts.by_status.get("triggered", 0)
    acked = counts.by_status.get(ACKNOWLEDGED, 0)
    resolved = counts.by_status.get(RESOLVED, 0)
    state = (
        ":zap: Active — new incidents join this thread"
        if storm.status == "active"
        else f":white_check_mark: Quiet since {slack_date(storm.closed_at or now)}"
    )
    pairs = [
        ("Incidents", f"{storm.incident_count:,}"),
        ("Open", f"{triggered:,} triggered · {acked:,} acknowledged"),
        ("Resolved", f"{resolved:,}"),
        ("Pages", f"{storm.page_count:,}"),
        ("Services", f"{counts.services:,}"),
        ("Started", f"{slack_date(storm.started_at)} · {duration(age)}"),
        ("Status", state),
    ]
    top = "\n".join(f"{code(block_kit.clip(t, 80))} × {n:,}" for t, n in counts.top_titles) or "–"
    out: list[Block] = [
        block_kit.header(f":thunder_cloud_and_rain: Alert storm · {label} {value}"),
        block_kit.fields(pairs),
        block_kit.section(f"*Most frequent*\n{top}"),
    ]
    if with_mentions and storm.mentions:
        out.insert(0, paging_block(storm.mentions))
    if triggered or acked:
        value_id = str(storm.id)
        elements = [_button("Resolve all", "storm:resolve", value_id)]
        if triggered:
            elements.insert(0, _button("Acknowledge all", "storm:ack", value_id, "primary"))
        out.append({"type": "actions", "block_id": f"storm-{storm.id}", "elements": elements})
    out.append(block_kit.context(messages.storm_footer(storm.id)))
    text = messages.storm_headline(label, value, storm.incident_count)
    if with_mentions and storm.mentions:
        text = f"{storm.mentions} {text}"
    return Message(text=text, blocks=out)
