"""The Slack app manifest, generated from the config and the command registry."""

from __future__ import annotations

from typing import Any

from bot.config import Config
from bot.interactions import InteractionRegistry
from bot.registry import CommandRegistry

BOT_SCOPES = [
    "app_mentions:read",
    "channels:read",
    "chat:write",
    "chat:write.public",
    "commands",
    # `/fleet find` shares its CSV through the external upload (docs/campaigns.md).
    "files:write",
    "groups:read",
    "im:write",
    "usergroups:read",
    "users:read",
]
# `subteam_members_changed`: a role's user group changed (bot/permissions/usergroups.py);
# `app_home_opened`: publish the person's Home tab (bot/home).
BOT_EVENTS = ["app_home_opened", "app_mention", "subteam_members_changed"]


def build_manifest(
    config: Config,
    registry: CommandRegistry[Any],
    base_url: str | None,
    interactions: InteractionRegistry[Any] | None = None,
) -> dict[str, Any]:
    socket_mode = config.slack.mode == "socket"
    if not socket_mode and not base_url:
        raise ValueError("HTTP mode needs the public URL: --url https://HOST")
    events_url = f"{(base_url or '').rstrip('/')}/slack/events"
    commands = []
    for group in registry.groups():
        command: dict[str, Any] = {
            "command": str(getattr(config.slack.commands, group, f"/{group}")),
            "description": registry.summary(group)[:100] or group,
            "usage_hint": "help | "
            + " | ".join(e.name for e in registry.subcommands(group) if e.name != "help"),
            "should_escape": True,
        }
        if not socket_mode:
            command["url"] = events_url
        command["usage_hint"] = command["usage_hint"][:1000]
        commands.append(command)
    settings: dict[str, Any] = {
        "event_subscriptions": {"bot_events": BOT_EVENTS},
        "interactivity": {"is_enabled": True},
        "org_deploy_enabled": False,
        "socket_mode_enabled": socket_mode,
        "token_rotation_enabled": False,
    }
    if not socket_mode:
        settings["event_subscriptions"]["request_url"] = events_url
        settings["interactivity"]["request_url"] = events_url
    name = config.slack.app_name
    features: dict[str, Any] = {}
    shortcuts = [
        {
            "name": entry.name[:24],
            "type": "message",
            "callback_id": callback_id,
            "description": entry.description[:150],
        }
        for callback_id, entry in (interactions.shortcuts() if interactions else [])
    ]
    if shortcuts:  # Slack's schema wants at least one when the key is there
        features["shortcuts"] = shortcuts
    return {
        "display_information": {
            "name": name,
            "description": "On-call ChatOps for fleets of data services",
            "long_description": (
                f"{name} turns pages into incident threads, runs guarded repair actions on "
                "the fleet's control plane, and records who ran what in a tamper-evident "
                "audit log. It posts handoff summaries at every shift change."
            ),
            "background_color": "#1d3557",
        },
        "features": {
            # The Home tab; the Messages tab shows the bot's DMs (handoffs), read-only.
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": True,
            },
            "bot_user": {"display_name": name.lower()[:80], "always_online": True},
            "slash_commands": commands,
            **features,
        },
        "oauth_config": {"scopes": {"bot": BOT_SCOPES}},
        "settings": settings,
    }
