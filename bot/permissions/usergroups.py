"""Slack user groups resolved into their members, for roles (`roles.*.usergroups`), the
on-call role and route mentions (docs/security.md, "User groups").

Each replica keeps its own copy (`UserGroups`, one per runtime): read from Slack's
`usergroups.users.list` at start and every `REFRESH_SECONDS`, and re-read at once for a
group whose `subteam_members_changed` event reaches this replica. A group that cannot be
read grants nothing (default deny) and is a warning at start and an error of
`watchkeeper check-config --online`.

Reads are not messages: they go straight to Slack's Web API, never through the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from bot.config import Config
from bot.mentions import is_group_id
from bot.permissions.group_cache import GroupRead
from bot.permissions.roles import RoleBook
from integrations.slack.errors import SlackApiError, SlackError
from integrations.slack.web import SlackWebClient

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

# Slack changes groups by hand, rarely; the event keeps the receiving replica current.
REFRESH_SECONDS = 300.0
METHOD = "usergroups.users.list"


def configured_groups(config: Config) -> list[str]:
    """Every user group the configuration names: in a role, in a route's mentions."""
    found: list[str] = []
    for binding in config.roles.values():
        found += binding.usergroups
    for route in config.routing.routes:
        found += [m for m in route.mention if is_group_id(m)]
    found += [m for m in config.routing.default_mention if is_group_id(m)]
    return list(dict.fromkeys(found))


async def read_group(web: SlackWebClient, group: str) -> GroupRead:
    try:
        answer: dict[str, Any] = await web.call(METHOD, {"usergroup": group})
    except SlackApiError as exc:
        return GroupRead(group, None, exc.error)
    except SlackError as exc:
        return GroupRead(group, None, f"unavailable: {exc}")
    users = answer.get("users")
    if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
        return GroupRead(group, None, "malformed answer")
    return GroupRead(group, frozenset(users))


def role_book(rt: Runtime) -> RoleBook:
    """Who holds which role now: for the permission step and every guard chain."""
    return RoleBook(rt.config.roles, rt.usergroups.members())


async def refresh(rt: Runtime, groups: Iterable[str] | None = None) -> list[str]:
    """Re-read `groups` (every configured one by default); returns the problems found."""
    web = rt.slack_direct
    wanted = configured_groups(rt.config) if groups is None else list(groups)
    if web is None or not wanted:
        return []
    reads = await asyncio.gather(*(read_group(web, g) for g in wanted))
    for read in reads:
        rt.usergroups.take(read)
    return [r.problem() for r in reads if r.members is None]


async def keep_fresh(rt: Runtime) -> None:
    """At start on every replica: read the groups (a warning for each that cannot be
    read), then again every few minutes."""
    first = True
    while True:
        try:
            for problem in await refresh(rt):
                (log.warning if first else log.info)("%s; it grants nothing meanwhile", problem)
        except Exception:  # a bad answer must not end the loop; the next round tries again
            log.exception("reading the user groups failed")
        first = False
        await asyncio.sleep(REFRESH_SECONDS)


async def members_changed(rt: Runtime, event: Mapping[str, Any]) -> None:
    """`subteam_members_changed`: re-read the group when it is one we use; when Slack
    cannot answer, apply the event's delta so a removal counts at once."""
    group = event.get("subteam_id")
    if not isinstance(group, str) or group not in configured_groups(rt.config):
        return
    web = rt.slack_direct
    if web is None:
        return
    read = await read_group(web, group)
    rt.usergroups.take(read)
    if read.members is None and (read.error or "").startswith("unavailable"):
        added = [u for u in event.get("added_users") or [] if isinstance(u, str)]
        removed = [u for u in event.get("removed_users") or [] if isinstance(u, str)]
        rt.usergroups.change(group, added, removed)


async def check_online(config: Config, web: SlackWebClient) -> list[str]:
    """`check-config --online`: every configured group read once; the problems found."""
    reads = await asyncio.gather(*(read_group(web, g) for g in configured_groups(config)))
    return [r.problem() for r in reads if r.members is None]
