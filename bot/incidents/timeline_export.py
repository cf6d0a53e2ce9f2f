"""An incident's timeline as JSON (a stable schema with a version, docs/incidents.md,
"Timeline export schema") and as Markdown ready to paste into a review document."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.incidents.timeline import SCHEMA, VERSION, Event, Timeline


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat().replace("+00:00", "Z")


def _event(e: Event) -> dict[str, Any]:
    return {
        "at": _iso(e.at),
        "kind": e.kind,
        "actor": e.actor,
        "actor_name": e.actor_name,
        "outcome": e.outcome,
        "summary": e.summary,
        "audit_seq": e.audit_seq,
        "request_id": e.request_id,
        "operation_id": e.operation_id,
    }


def as_document(t: Timeline) -> dict[str, Any]:
    """The JSON export as a value: every key always present, null when unknown."""
    i = t.incident
    return {
        "schema": SCHEMA,
        "version": VERSION,
        "generated_at": _iso(t.built_at),
        "incident": {
            "id": i.id,
            "title": i.title,
            "severity": i.severity,
            "status": i.status,
            "service": i.service,
            "source": i.source,
            "channel": i.channel,
            "thread_ts": t.root_ts,
            "opened_at": _iso(i.opened_at),
            "acknowledged_at": _iso(i.acknowledged_at),
            "acknowledged_by": i.acknowledged_by,
            "resolved_at": _iso(i.resolved_at),
            "resolved_by": i.resolved_by,
            "assignee": i.assignee,
            "page_count": i.page_count,
            "reopened_count": i.reopened_count,
        },
        "paged": {"users": t.paged_users, "groups": t.paged_groups},
        "durations": t.durations(),
        "audit": {
            "verified": True,
            "rows_checked": t.audit.rows_checked,
            "from_seq": t.audit.from_seq,
            "to_seq": t.audit.to_seq,
            "checkpoints_checked": t.audit.checkpoints_checked,
        },
        "requests": t.requests,
        "events": [_event(e) for e in t.events],
    }


def to_json(t: Timeline) -> str:
    return json.dumps(as_document(t), indent=2, sort_keys=True) + "\n"


def _cell(text: str | None) -> str:
    """A Markdown table cell: the record's text shown as typed, on one line."""
    if not text:
        return ""
    flat = " ".join(text.split())
    for ch in "\\|`*_[]<>":
        flat = flat.replace(ch, "\\" + ch)
    return flat


def _span(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"


def verified_line(t: Timeline) -> str:
    a = t.audit
    span = f"rows {a.from_seq}–{a.to_seq}" if a.from_seq is not None else "no rows"
    marks = f", {a.checkpoints_checked} checkpoint(s) matched" if a.checkpoints_checked else ""
    return f"Audit chain verified before export ({span}, {a.rows_checked} checked{marks})."


def to_markdown(t: Timeline) -> str:
    i, d = t.incident, t.durations()
    paged = ", ".join(t.paged_users + t.paged_groups) or "nobody by name"
    lines = [
        f"# Incident #{i.id}: {_cell(i.title)}",
        "",
        f"- Severity: {_cell(i.severity)} · status: {_cell(i.status)}"
        + (f" · service: {_cell(i.service)}" if i.service else ""),
        f"- Opened: {_iso(i.opened_at)} in {_cell(i.channel)}",
        f"- Paged: {_cell(paged)}",
        f"- Acknowledged: {_iso(i.acknowledged_at) or '—'}"
        + (f" by {_cell(i.acknowledged_by)}" if i.acknowledged_by else ""),
        f"- Resolved: {_iso(i.resolved_at) or '—'}"
        + (f" by {_cell(i.resolved_by)}" if i.resolved_by else ""),
        "",
        "| Time to acknowledge | Time to mitigate | Time to resolve |",
        "|---|---|---|",
        f"| {_span(d['to_acknowledge_seconds'])} | {_span(d['to_mitigate_seconds'])} "
        f"| {_span(d['to_resolve_seconds'])} |",
        "",
        "## Timeline (UTC)",
        "",
        "| Time | Event | Who | What | Audit # | Operation |",
        "|---|---|---|---|---|---|",
    ]
    for e in t.events:
        who = e.actor_name or e.actor or ""
        if e.actor and e.actor_name and e.actor != e.actor_name:
            who = f"{e.actor_name} ({e.actor})"
        lines.append(
            f"| {e.at.strftime('%Y-%m-%d %H:%M:%S')} | {_cell(e.kind)} | {_cell(who)} "
            f"| {_cell(e.summary)} | {e.audit_seq or ''} | {_cell(e.operation_id)} |"
        )
    lines += ["", f"_{verified_line(t)} Generated {_iso(t.built_at)}._", ""]
    return "\n".join(lines)
