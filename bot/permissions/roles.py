"""Whether a person holds one of some roles: the one place roles are resolved, for the
permission step and for the guard chain of fleet actions alike.

`roles:` of the configuration is read here only (tests/test_architecture.py): elsewhere a
role is asked about through `holds`, so how membership is decided cannot drift apart.
A role is held by the users it names and by the members of the Slack user groups it
names, as last read from Slack (bot/permissions/usergroups.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType

from bot.audit.actors import AUTOMATION_ID
from bot.config import Config
from bot.permissions.config import ANYONE
from bot.permissions.group_cache import GroupMembers
from bot.roles import RoleBinding

NO_GROUPS: GroupMembers = MappingProxyType({})


class RoleBook(Mapping[str, RoleBinding]):
    """The configured roles together with the members of their user groups at one moment:
    what `holds` decides from. A plain mapping of bindings is a book with no groups read."""

    def __init__(self, roles: Mapping[str, RoleBinding], groups: GroupMembers = NO_GROUPS):
        self._roles = roles
        self.groups = groups

    def __getitem__(self, role: str) -> RoleBinding:
        return self._roles[role]

    def __iter__(self) -> Iterator[str]:
        return iter(self._roles)

    def __len__(self) -> int:
        return len(self._roles)

    def people(self, role: str) -> frozenset[str]:
        """Everyone who holds `role` now: its users and its groups' members."""
        binding = self._roles.get(role)
        if binding is None:
            return frozenset()
        found = set(binding.users)
        for group in binding.usergroups:
            found |= self.groups.get(group, frozenset())
        return frozenset(found)


def bindings(config: Config) -> RoleBook:
    """The roles as configured, with no user group read (start-up checks)."""
    return RoleBook(config.roles)


def holds(bindings: Mapping[str, RoleBinding], user_id: str, roles: Iterable[str]) -> bool:
    """Users named in a role hold it, and so do members of its user groups as last read
    from Slack (a group never read grants nothing: default deny). The bot's own
    automation holds only roles that name it, never `anyone`."""
    wanted = list(roles)
    if user_id == AUTOMATION_ID:
        return any(bindings[r].automation for r in wanted if r in bindings)
    if not user_id:
        return False
    if ANYONE in wanted:
        return True
    book = bindings if isinstance(bindings, RoleBook) else RoleBook(bindings)
    return any(user_id in book.people(r) for r in wanted)


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
