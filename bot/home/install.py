"""How the App Home plugs in (docs/architecture.md, "How an area plugs in")."""

from __future__ import annotations

from bot.home.publish import answer_in_home, home_opened, refresh_homes
from bot.parts import AppParts


def install(parts: AppParts) -> None:
    parts.hooks.events["app_home_opened"] = home_opened
    parts.hooks.answer_in_home = answer_in_home
    parts.hooks.refresh_homes = refresh_homes
