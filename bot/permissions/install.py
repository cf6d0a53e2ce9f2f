"""How the permissions area plugs in: every replica reads the configured Slack user groups
at start and keeps them fresh, and re-reads one when Slack says its members changed."""

from __future__ import annotations

from bot.parts import AppParts
from bot.permissions.usergroups import keep_fresh, members_changed


def install(parts: AppParts) -> None:
    parts.at_start.append(keep_fresh)
    parts.hooks.events["subteam_members_changed"] = members_changed
