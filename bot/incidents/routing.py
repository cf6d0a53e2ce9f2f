"""Where a page goes: label matchers pick a route (channel, mentions, minimum severity),
the first matching route wins, and the default route takes the rest."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

from bot.config import Config
from bot.incidents.config import RouteConfig
from bot.incidents.grouping import value_of
from bot.mentions import mentions
from integrations.pages import SEVERITY_RANK, Page

DEFAULT_ROUTE = "default"


@dataclass(frozen=True)
class Destination:
    route: str
    channel: str
    mention_ids: tuple[str, ...]
    oncall: str | None
    escalate_after_minutes: int
    pagerduty: bool


def matches(route: RouteConfig, page: Page) -> bool:
    for key, pattern in route.match.items():
        value = value_of(page, key)
        if value is None or not fnmatchcase(value, pattern):
            return False
    for key, pattern in route.match_re.items():
        value = value_of(page, key)
        if value is None or re.fullmatch(pattern, value) is None:
            return False
    return route.admits(page.severity)


def _destination(config: Config, route: RouteConfig) -> Destination:
    escalation = config.escalation
    after = route.escalate_after_minutes
    return Destination(
        route=route.name,
        channel=route.channel,
        mention_ids=tuple(route.mention),
        oncall=route.oncall,
        escalate_after_minutes=escalation.after_minutes if after is None else after,
        pagerduty=escalation.pagerduty.enabled if route.pagerduty is None else route.pagerduty,
    )


def route_page(config: Config, page: Page) -> Destination | None:
    """The page's destination, or None when it is below every route's minimum severity:
    such a page is stored and joins an open incident, but opens none."""
    for route in config.routing.routes:
        if matches(route, page):
            return _destination(config, route)
    return default_destination(config, page.severity)


def default_destination(config: Config, severity: str = "critical") -> Destination | None:
    routing = config.routing
    if SEVERITY_RANK[severity] < SEVERITY_RANK[routing.min_severity]:
        return None
    return Destination(
        route=DEFAULT_ROUTE,
        channel=routing.default_channel or config.channels.default,
        mention_ids=tuple(routing.default_mention),
        oncall=routing.default_oncall,
        escalate_after_minutes=config.escalation.after_minutes,
        pagerduty=config.escalation.pagerduty.enabled,
    )


def destination_named(config: Config, name: str) -> Destination:
    """An incident's route by name now (config may have changed since it opened)."""
    for route in config.routing.routes:
        if route.name == name:
            return _destination(config, route)
    fallback = default_destination(config)
    assert fallback is not None  # severity critical always passes
    return fallback


def mention_text(ids: tuple[str, ...] | list[str]) -> str:
    """Slack's mention syntax: users as <@U…>, user groups as <!subteam^S…>."""
    return mentions(ids)
