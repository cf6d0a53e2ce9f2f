"""Block Kit rendering, kept apart from domain logic; Slack's limits are respected here."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bot.mentions import code, escape
from integrations.fleet.models import Service, ServiceSummary

Block = dict[str, Any]

SECTION_LIMIT = 3000
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


def status_card(service: Service) -> list[Block]:
    primary = service.primary
    state = f"{HEALTH_ICON[service.health]} {service.health}" + (
        " · *paused*" if service.paused else ""
    )
    blocks: list[Block] = [
        header(f"{service.name} ({service.kind})"),
        fields(
            [
                ("Health", state),
                # The fleet's words, shown as typed.
                ("Primary", code(primary.name) if primary else "none"),
                ("Region", escape(service.region)),
                ("Plan", escape(service.plan)),
            ]
        ),
    ]
    rows = [
        f"{code(m.name)} {escape(m.role)} · {escape(m.state)} · "
        f"{'healthy' if m.healthy else '*unhealthy*'}"
        + (f" · lag {_lag(m.lag_bytes)}" if m.role == "replica" else "")
        for m in service.members
    ]
    blocks.append(section("*Members*\n" + ("\n".join(rows) if rows else "none")))
    if service.version:
        blocks.append(context(f"version {escape(service.version)}"))
    return blocks


def status_text(service: Service) -> str:
    primary = service.primary
    return f"{service.name}: {service.health}, primary {primary.name if primary else 'none'}"


def fleet_overview(services: list[ServiceSummary]) -> list[Block]:
    by_kind: dict[str, Counter[str]] = {}
    for s in services:
        by_kind.setdefault(s.kind, Counter())[s.health] += 1
    lines = [
        f"*{escape(kind)}*: {sum(c.values())} · "
        + " · ".join(
            f"{HEALTH_ICON[h]} {c[h]} {h}" for h in ("healthy", "degraded", "down") if c[h]
        )
        for kind, c in sorted(by_kind.items())
    ]
    unhealthy = [s for s in services if s.health != "healthy"][:15]
    blocks = [header(f"Fleet: {len(services)} services"), section("\n".join(lines))]
    if unhealthy:
        blocks.append(
            section(
                "*Not healthy*\n"
                + "\n".join(
                    f"{HEALTH_ICON[s.health]} {code(s.name)} ({escape(s.kind)}, {escape(s.region)})"
                    for s in unhealthy
                )
            )
        )
    return blocks
