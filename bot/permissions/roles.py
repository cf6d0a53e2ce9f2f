"""Whether a person holds one of some roles: the one place roles are resolved, for the
permission step and for the guard chain of fleet actions alike.

`roles:` of the configuration is read here only (tests/test_architecture.py): elsewhere a
role is asked about through `holds`, so how membership is decided cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.audit.actors import AUTOMATION_ID
from bot.config import Config
from bot.permissions.config import ANYONE
from bot.roles import RoleBinding


def bindings(config: Config) -> Mapping[str, RoleBinding]:
    """Who holds which role, for a guard chain to ask `holds` about (bot.actions.guard_chain)."""
    return config.roles


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


def known_people(config: Config) -> frozenset[str]:
    """The Slack users the configuration names: in a role, in a rotation, or mapped from
    PagerDuty. The bot pings only people it knows: an id someone typed (an incident
    assignee) must be one of them."""
    people = {user for binding in config.roles.values() for user in binding.users}
    for rotation in config.oncall.rotations:
        people.update(rotation.members)
        if rotation.pagerduty is not None:
            people.update(rotation.pagerduty.users.values())
    return frozenset(people)
