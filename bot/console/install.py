"""How the fallback console's endpoint plugs into the bot (docs/architecture.md)."""

from __future__ import annotations

from bot.console.routes import console_routes
from bot.parts import AppParts


def install(parts: AppParts) -> None:
    parts.routes.append(console_routes)
