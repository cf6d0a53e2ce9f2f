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
# A person acting from the fallback console is named `cli:<login>` (docs/fallback.md).
CONSOLE_PREFIX = "cli:"


def console_name(login: str) -> str:
    return f"{CONSOLE_PREFIX}{login}"


def slack_name(name: str) -> str:
    """A user name from a Slack payload, never mistaken for a console login."""
    return f"@{name}" if name.startswith(CONSOLE_PREFIX) else name


def person(user_id: str, name: str) -> Actor:
    """Who a row names for a person: a Slack user as themselves; an engineer at the
    console (name `cli:<login>`) as `cli:<login>`, with the Slack id they are mapped to
    as the name, so their rows are told apart and still lead to the person."""
    if name.startswith(CONSOLE_PREFIX):
        return Actor(name, user_id)
    return Actor(user_id, name)


def cli_actor() -> Actor:
    """The operating-system user running the CLI; an unknown user is still recorded."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return Actor(f"cli:{user}", user)
