"""The members of Slack user groups as this replica last read them (one per runtime);
bot/permissions/usergroups.py reads and refreshes them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

GroupMembers = Mapping[str, frozenset[str]]
# What Slack's errors mean to whoever configures the bot.
EXPLAINED = {
    "no_such_subteam": "no such user group in this workspace",
    "missing_scope": "the app lacks the `usergroups:read` scope: reinstall it with the manifest",
    "plan_upgrade_required": "this workspace's Slack plan has no user groups",
}


@dataclass(frozen=True)
class GroupRead:
    group: str
    members: frozenset[str] | None
    error: str | None = None

    def problem(self) -> str:
        why = EXPLAINED.get(self.error or "", self.error or "unknown error")
        return f"user group {self.group} cannot be read ({self.error}): {why}"


class UserGroups:
    """Members of the configured groups as last read; a group never read has none."""

    def __init__(self) -> None:
        self._members: dict[str, frozenset[str]] = {}
        self.problems: dict[str, str] = {}

    def members(self) -> GroupMembers:
        """A snapshot: a guard chain sees one consistent view while it runs."""
        return MappingProxyType(dict(self._members))

    def members_of(self, group: str) -> frozenset[str]:
        return self._members.get(group, frozenset())

    def take(self, read: GroupRead) -> None:
        if read.members is None:
            # Unavailable Slack keeps the last good answer; a group Slack says is gone or
            # unreadable grants nothing any more.
            if not (read.error or "").startswith("unavailable"):
                self._members.pop(read.group, None)
            self.problems[read.group] = read.problem()
            return
        self._members[read.group] = read.members
        self.problems.pop(read.group, None)

    def change(self, group: str, added: Iterable[str], removed: Iterable[str]) -> None:
        """An event's delta, used when the group cannot be re-read: removals first count."""
        current = set(self._members.get(group, frozenset()))
        current |= set(added)
        current -= set(removed)
        self._members[group] = frozenset(current)
