"""Who an audit row names: a Slack user, the bot's own automation, or a CLI operator."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

AUTOMATION_ID = "watchkeeper:automation"


@dataclass(frozen=True)
class Actor:
    """`id` is what filters and policies key on; `name` is what a reviewer reads."""

    id: str
    name: str = ""

    @classmethod
    def slack(cls, user_id: str, name: str = "") -> Actor:
        return cls(user_id, name)


AUTOMATION = Actor(AUTOMATION_ID, "Watchkeeper")


def cli_actor() -> Actor:
    """The operating-system user running the CLI; an unknown user is still recorded."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor(f"cli:{user}", user)
