"""Block Kit rendering, kept apart from domain logic; Slack's limits are respected here."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from bot.fleet.router import BackendView
from bot.mentions import code, escape
from integrations.fleet.models import ConsumerGroup, Service, ServiceSummary, Topic

Block = dict[str, Any]

SECTION_LIMIT = 3000
# Topics and consumer groups listed on a status card; the rest are counted.
LISTED = 15
HEALTH_ICON = {
    "healthy": ":large_green_circle:",
    "degraded": ":large_yellow_circle:",
    "down": ":red_circle:",
}


def clip(text: str, limit: int = SECTION_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, 150)}}


def section(markdown: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(markdown)}}


def fields(pairs: list[tuple[str, str]]) -> Block:
    return {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": clip(f"*{k}*\n{v}", 2000)} for k, v in pairs[:10]],
    }


def slack_date(when: datetime) -> str:
    """Shown in each reader's own time zone by Slack; the fallback is UTC."""
    return (
        f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{when:%Y-%m-%d %H:%M} UTC>"
    )


def context(markdown: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(markdown)}]}


def _lag(lag: int | None) -> str:
    if lag is None:
        return "–"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if lag < 1024:
            return f"{lag} {unit}"
        lag //= 1024
    return f"{lag} TiB"


def _listed(title: str, lines: list[str]) -> Block:
    more = len(lines) - LISTED
    shown = lines[:LISTED] + ([f"… and {more} more"] if more > 0 else [])
    return section(f"*{title}*\n" + ("\n".join(shown) if shown else "none"))


def _topic_line(t: Topic) -> str:
    # Topic names and config values are the cluster's words: shown as code.
    line = f"{code(t.name)} {t.partitions} partitions × {t.replication_factor}"
    if t.offline:
        line += f" · *{t.offline} offline*"
    if t.under_replicated:
        line += f" · *{t.under_replicated} under-replicated*"
    if "retention.ms" in t.configs:
        line += f" · retention.ms {code(t.configs['retention.ms'])}"
    return line


def _group_line(g: ConsumerGroup) -> str:
    if g.lag is None:
        return f"{code(g.name)} lag unknown: {escape(g.error or 'no answer')}"
    topics = ", ".join(f"{code(t)} {n}" for t, n in g.lag_by_topic.items())
    return f"{code(g.name)} {escape(g.state)} · {g.members} members · lag {g.lag} messages" + (
        f" ({topics})" if topics else ""
    )


def status_card(service: Service) -> list[Block]:
    primary = service.primary
    state = f"{HEALTH_ICON[service.health]} {service.health}" + (
        " · *paused*" if service.paused else ""
    )
    # Kafka has no primary; its controller is what an engineer looks for first.
    leader = (
        ("Controller", code(service.controller))
        if service.controller
        else (
            "Primary",
            code(primary.name) if primary else "none",
        )
    )
    blocks: list[Block] = [
        header(f"{service.name} ({service.kind})"),
        fields(
            [
                ("Health", state),
                # The fleet's words, shown as typed.
                leader,
                ("Region", escape(service.region)),
                ("Plan", escape(service.plan)),
            ]
        ),
    ]
    rows = [
        f"{code(m.name)} {escape(m.role)} · {escape(m.state)} · "
        f"{'healthy' if m.healthy else '*unhealthy*'}"
        + (f" · lag {_lag(m.lag_bytes)}" if m.role == "replica" else "")
        + (" · *pending restart*" if m.pending_restart else "")
        + (f" · restart scheduled {m.restart_at.isoformat()}" if m.restart_at else "")
        for m in service.members
    ]
    blocks.append(section("*Members*\n" + ("\n".join(rows) if rows else "none")))
    if service.history:
        past = [
            f"timeline {h.timeline}"
            + (f" · {h.at.isoformat(timespec='seconds')}" if h.at else "")
            + (f" · {code(h.leader)} became leader" if h.leader else "")
            + f" · {escape(h.reason)}"
            for h in service.history
        ]
        blocks.append(section("*Leader history* (newest first)\n" + "\n".join(past)))
    if service.topics:
        blocks.append(_listed("Topics", [_topic_line(t) for t in service.topics]))
    if service.consumer_groups:
        blocks.append(_listed("Consumer groups", [_group_line(g) for g in service.consumer_groups]))
    if service.notes:
        # The backend's words, from the fleet: escaped like every other outside string.
        blocks.append(
            section("\n".join(f"*{escape(f.label)}*: {escape(f.value)}" for f in service.notes))
        )
    if service.version:
        blocks.append(context(f"version {escape(service.version)}"))
    return blocks


def status_text(service: Service) -> str:
    if service.controller:
        return f"{service.name}: {service.health}, controller {service.controller}"
    primary = service.primary
    return f"{service.name}: {service.health}, primary {primary.name if primary else 'none'}"


UNKNOWN_ICON = ":white_circle:"
# A backend with this many services or fewer lists them all; a bigger one lists those
# that are not healthy (up to LISTED_UNHEALTHY), so one card stays within Slack's limits.
LISTED_ALL = 25
LISTED_UNHEALTHY = 15
MAX_BACKEND_SECTIONS = 45  # Slack's 50 blocks a message, less the header and summary


def _counts(services: list[ServiceSummary]) -> str:
    c = Counter(s.health for s in services)
    return " · ".join(
        f"{HEALTH_ICON[h]} {c[h]} {h}" for h in ("healthy", "degraded", "down") if c[h]
    )


def _service_line(s: ServiceSummary) -> str:
    return f"{HEALTH_ICON[s.health]} {code(s.name)} ({escape(s.kind)}, {escape(s.region)})"


def _backend_section(view: BackendView) -> Block:
    kind = f" · {code(view.kind)}" if view.kind else ""
    head = f"*{escape(view.name)}*{kind}"
    if view.services is None:
        # Never shown as healthy: nothing was read (docs/backends.md).
        reason = escape(view.problem or "no answer")
        return section(f"{head} · {UNKNOWN_ICON} *unknown*: {reason}")
    services = view.services
    if not services:
        return section(f"{head} · no services")
    lines = [f"{head} · {len(services)} services · {_counts(services)}"]
    if len(services) <= LISTED_ALL:
        lines += [_service_line(s) for s in services]
    else:
        unhealthy = [s for s in services if s.health != "healthy"]
        lines += [_service_line(s) for s in unhealthy[:LISTED_UNHEALTHY]]
        hidden = len(services) - min(len(unhealthy), LISTED_UNHEALTHY)
        lines.append(f"… {hidden} more not listed (`/fleet status <service>` for one)")
    return section("\n".join(lines))


def fleet_overview(views: list[BackendView]) -> list[Block]:
    """Every backend's services, with the backend each comes from; unknown ones as such."""
    known = [s for v in views for s in v.services or []]
    unknown = [v for v in views if v.services is None]
    by_kind: dict[str, list[ServiceSummary]] = {}
    for s in known:
        by_kind.setdefault(s.kind, []).append(s)
    lines = [
        f"*{escape(kind)}*: {len(items)} · {_counts(items)}"
        for kind, items in sorted(by_kind.items())
    ]
    if unknown:
        names = ", ".join(f"*{escape(v.name)}*" for v in unknown)
        lines.append(f"{UNKNOWN_ICON} *unknown*: the services of {names} (not answering)")
    blocks = [header(overview_text(views)), section("\n".join(lines) or "no services")]
    blocks += [_backend_section(v) for v in views[:MAX_BACKEND_SECTIONS]]
    return blocks


def overview_text(views: list[BackendView]) -> str:
    count = sum(len(v.services or []) for v in views)
    unknown = sum(1 for v in views if v.services is None)
    backends = f"{len(views)} backend" + ("" if len(views) == 1 else "s")
    text = f"Fleet: {count} services from {backends}"
    return text + (f", {unknown} unknown" if unknown else "")
