"""The post-check: after the fleet says "succeeded", is the service what the plan promised?

Checks are drawn from the plan itself (each `Change` whose attribute the service shows:
role, paused, version, maintenance time, a member back and healthy) plus the service's
health and the capacity floor, so a new backend gets a meaningful post-check for free.
"""

from __future__ import annotations

from bot import messages as m
from bot.actions.action_blocks import Preview
from integrations.fleet.models import Change, Service

Check = tuple[str, bool]


def _change_holds(change: Change, service: Service) -> Check | None:
    if change.member is None:
        if change.attribute == "paused":
            return m.check_paused(service.name, bool(change.after)), service.paused == change.after
        if change.attribute == "version" and service.version is not None:
            return m.check_version(service.name, str(change.after)), service.version == change.after
        if change.attribute in service.facts:
            seen = service.facts[change.attribute]
            return m.check_fact(change.attribute, change.after), seen == change.after
        return None
    member = next((x for x in service.members if x.name == change.member), None)
    if member is None:
        return m.check_member_missing(change.member), False
    if change.attribute == "role":
        return m.check_role(member.name, str(change.after)), member.role == change.after
    # lag, host: the member was rebuilt or moved; it must be back and healthy.
    return m.check_member_healthy(member.name), member.healthy


def post_check(preview: Preview | None, service: Service, floor: int) -> list[Check]:
    checks: list[Check] = [
        (m.check_health(service.name, service.health), service.health == "healthy")
    ]
    if preview is not None:
        for change in preview.plan.changes:
            found = _change_holds(change, service)
            if found is not None:
                checks.append(found)
    if service.members:
        healthy = service.healthy_members
        checks.append((m.check_floor(healthy, len(service.members), floor), healthy >= floor))
    return checks


def passed(checks: list[Check]) -> bool:
    return all(ok for _, ok in checks)
