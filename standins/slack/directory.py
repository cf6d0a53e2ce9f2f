"""The stand-in workspace's people, channels and user groups.

Tests and the demo rarely want to declare channels first, so any id shaped like a
Slack channel id exists on first use; only ids marked unknown (or starting with
`CNOTFOUND`) answer `channel_not_found`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# One workspace: what auth.test answers is the team the signed requests come from
# (the demo's `slack.team_id`).
from integrations.slack.sender import TEAM_ID as TEAM_ID
from standins.slack.models import Channel, User

TEAM_NAME = "Watchkeeper Demo"
TEAM_URL = "https://watchkeeper-demo.slack.com/"
BOT_USER_ID = "U0BOT0001"
BOT_ID = "B0BOT0001"
BOT_NAME = "watchkeeper"
NOT_FOUND_PREFIX = "CNOTFOUND"

CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")
USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")

DEFAULT_USERS: tuple[User, ...] = (
    User("UALICE01", "alice", "Alice Martin"),
    User("UBOB0002", "bob", "Bob Keller"),
    User("UCAROL03", "carol", "Carol Nguyen"),
    User("UDAVE004", "dave", "Dave Osei"),
    User(BOT_USER_ID, BOT_NAME, "Watchkeeper", is_bot=True),
)
DEFAULT_CHANNELS: tuple[Channel, ...] = (
    Channel("C0DEMO001", "incidents"),
    Channel("C0DEMO002", "oncall"),
    Channel("C0DEMO003", "audit", is_private=True),
)
# What the app's manifest asks for (bot/manifest.py), as an installed app holds them.
INSTALLED_SCOPES: tuple[str, ...] = (
    "app_mentions:read",
    "channels:read",
    "chat:write",
    "chat:write.public",
    "commands",
    "files:write",
    "groups:read",
    "im:write",
    "usergroups:read",
    "users:read",
)
DEFAULT_USERGROUPS: dict[str, list[str]] = {
    "S0ONCALL1": ["UALICE01", "UBOB0002"],
    "S0DBA0001": ["UCAROL03"],
}


class Directory:
    def __init__(
        self,
        *,
        users: Iterable[User] = DEFAULT_USERS,
        channels: Iterable[Channel] = DEFAULT_CHANNELS,
        usergroups: dict[str, list[str]] | None = None,
        unknown_channels: Iterable[str] = (),
    ) -> None:
        self.users: dict[str, User] = {u.id: u for u in users}
        self.channels: dict[str, Channel] = {c.id: c for c in channels}
        groups = DEFAULT_USERGROUPS if usergroups is None else usergroups
        self.usergroups: dict[str, list[str]] = {k: list(v) for k, v in groups.items()}
        self.unknown_channels: set[str] = set(unknown_channels)

    def add_user(self, user_id: str, name: str, real_name: str | None = None) -> User:
        user = User(user_id, name, real_name or name.title())
        self.users[user_id] = user
        return user

    def add_channel(self, channel_id: str, name: str, *, is_private: bool = False) -> Channel:
        channel = Channel(channel_id, name, is_private=is_private)
        self.channels[channel_id] = channel
        self.unknown_channels.discard(channel_id)
        return channel

    def add_usergroup(self, group_id: str, user_ids: Iterable[str]) -> None:
        self.usergroups[group_id] = list(user_ids)

    def is_unknown(self, channel_id: str) -> bool:
        return channel_id in self.unknown_channels or channel_id.startswith(NOT_FOUND_PREFIX)

    def resolve_channel(self, channel_id: str) -> Channel | None:
        """The channel a Web API `channel` argument names, creating it on first use.

        A user id names the bot's direct-message channel with that user, as in Slack.
        """
        if self.is_unknown(channel_id):
            return None
        if channel_id in self.channels:
            return self.channels[channel_id]
        if CHANNEL_ID.fullmatch(channel_id):
            return self.add_channel(channel_id, channel_id.lower())
        if USER_ID.fullmatch(channel_id) and channel_id in self.users:
            dm_id = "D" + channel_id[1:]
            dm = self.channels.get(dm_id) or Channel(dm_id, channel_id, is_im=True)
            self.channels[dm_id] = dm
            return dm
        return None
