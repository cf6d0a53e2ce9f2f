"""How intake plugs into the bot: its webhook routes, `POST /hooks/<source>`."""

from __future__ import annotations

from bot.intake.routes import intake_routes
from bot.parts import AppParts


def install(parts: AppParts) -> None:
    parts.routes.append(intake_routes)
