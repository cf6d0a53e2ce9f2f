"""The fleet's state of one service as a message shows it: a snapshot (plain JSON, stored
on an incident or read for a final action card) and its one-line rendering, labelled with
the time it was read (docs/incidents.md, "Live state")."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.mentions import code, escape
from integrations.fleet.models import Service

HEALTH_ICON = {"healthy": ":large_green_circle:", "degraded": ":large_yellow_circle:"}


def snapshot_of(service: Service, at: datetime) -> dict[str, Any]:
    """What a root or card shows of `service`, read at `at`."""
    return {
        "ok": True,
        "at": at.isoformat(),
        "health": service.health,
        "paused": service.paused,
        "region": service.region,
        "kind": service.kind,
        "members": [
            {"name": m.name, "role": m.role, "healthy": m.healthy, "lag": m.lag_bytes}
            for m in service.members
        ],
    }


def unreadable(error: str, at: datetime) -> dict[str, Any]:
    return {"ok": False, "error": error, "at": at.isoformat()}


def read_at(snapshot_json: str | None) -> datetime | None:
    """When the stored snapshot was read (None for one stored before it said so)."""
    if snapshot_json is None:
        return None
    at = json.loads(snapshot_json).get("at")
    return datetime.fromisoformat(at) if isinstance(at, str) else None


def same_state(a_json: str | None, b: dict[str, Any]) -> bool:
    """Whether a stored snapshot shows what `b` shows, whenever each was read."""
    if a_json is None:
        return False
    a = json.loads(a_json)
    a.pop("at", None)
    return bool(a == {k: v for k, v in b.items() if k != "at"})


def size(value: int | None) -> str:
    if value is None:
        return "–"
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024:
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} TiB"


def state_line(snapshot_json: str | None) -> str:
    if snapshot_json is None:
        return "_checking the fleet…_"
    snap: dict[str, Any] = json.loads(snapshot_json)
    if not snap.get("ok"):
        return f"_fleet state unavailable: {escape(str(snap.get('error', 'unknown')))}_"
    health = str(snap.get("health", "unknown"))
    parts = [f"{HEALTH_ICON.get(health, ':red_circle:')} {escape(health)}"]
    if snap.get("paused"):
        parts.append("*paused*")
    members: list[dict[str, Any]] = snap.get("members", [])
    brokers = [m for m in members if m.get("role") in ("broker", "controller")]
    if brokers:
        healthy = sum(1 for m in brokers if m.get("healthy"))
        parts.append(f"brokers {healthy}/{len(brokers)} healthy")
    primary = next((m for m in members if m.get("role") == "primary"), None)
    if primary is not None:
        sick = "" if primary.get("healthy") else " *unhealthy*"
        parts.append(f"primary {code(str(primary['name']))}{sick}")
    elif not brokers:
        parts.append("*no primary*")
    for member in [m for m in members if m.get("role") == "replica"][:6]:
        sick = "" if member.get("healthy") else " *unhealthy*"
        parts.append(f"replica {code(str(member['name']))} lag {size(member.get('lag'))}{sick}")
    return " · ".join(parts)
