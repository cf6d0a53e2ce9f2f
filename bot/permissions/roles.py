"""Whether a person holds one of some roles: the one place roles are resolved, for the
permission step and for the guard chain of fleet actions alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.audit.actors import AUTOMATION_ID
from bot.permissions.config import ANYONE
from bot.roles import RoleBinding


def holds(bindings: Mapping[str, RoleBinding], user_id: str, roles: Iterable[str]) -> bool:
    """Users named in a role hold it; Slack user groups need a lookup not wired yet, and
    until it is, membership through a group is denied (default deny). The bot's own
    automation holds only roles that name it, never `anyone`."""
    wanted = list(roles)
    if user_id == AUTOMATION_ID:
        return any(bindings[r].automation for r in wanted if r in bindings)
    if not user_id:
        return False
    if ANYONE in wanted:
        return True
    return any(user_id in bindings[r].users for r in wanted if r in bindings)
