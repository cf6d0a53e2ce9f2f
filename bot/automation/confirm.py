"""The confirm step: a page is a claim, the fleet is the fact. Before a runbook plans (or
suggests, or dry-runs) anything, the page must come from a source allowed to start
automation, and the fleet, asked through the runtime's router, must show the fault the
runbook repairs on the member the page names: the member exists, has a role the runbook
repairs (never the primary), and its lag or state matches the runbook's `confirm`.

What the fleet showed (`seen`) goes into the decision's audit row and the thread, so a
repair can always be traced to the state that justified it. A page that does not confirm
is left to people, with the reason in the incident thread (`bot.automation.report`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot import messages as m
from bot.automation.config import Confirm, RunbookConfig
from bot.config import Config
from bot.fleet import FleetRouter
from integrations.fleet.errors import FleetError
from integrations.fleet.models import Member, Service

# Decision states of a page the confirm step left to people (bot/automation/models.py).
UNTRUSTED = "untrusted"
UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True)
class Confirmation:
    # UNTRUSTED or UNCONFIRMED with the reason, or None: the fault is confirmed.
    refused: str | None = None
    reason: str | None = None
    # What the fleet showed of the member, for the audit row (None: it was not asked).
    seen: dict[str, Any] | None = None
    # The service as read now, for the capacity floor (None: not read).
    service: Service | None = None

    @property
    def said(self) -> str | None:
        """What was seen, in words, for the thread."""
        if self.seen is None:
            return None
        s = self.seen
        return m.member_seen(s["member"], s["role"], s["state"], s["lag_bytes"])


def trusted_sources(config: Config) -> list[str]:
    """`automation.sources`, or by default every intake source that has credentials."""
    if config.automation.sources is not None:
        return list(config.automation.sources)
    return config.intake.open_sources()


def is_trusted(config: Config, source: str) -> bool:
    return source in trusted_sources(config)


def source_refusal(config: Config, source: str) -> str | None:
    if is_trusted(config, source):
        return None
    return m.source_not_trusted(source, trusted_sources(config))


async def confirm(
    config: Config, fleet: FleetRouter, runbook: RunbookConfig, page_source: str,
    service: str, member: str | None,
) -> Confirmation:  # fmt: skip
    """Ask the source list, then the fleet; never raises for what the fleet answers."""
    untrusted = source_refusal(config, page_source)
    if untrusted is not None:
        return Confirmation(UNTRUSTED, untrusted)
    if not member:
        return Confirmation(UNCONFIRMED, m.confirm_no_member(service))
    try:
        found = await fleet.get_service(service)
    except FleetError as exc:
        return Confirmation(
            UNCONFIRMED, m.confirm_unreadable(service, str(exc) or type(exc).__name__)
        )
    return judge(runbook.condition, found, member)


def judge(condition: Confirm, service: Service, member: str) -> Confirmation:
    """The fleet's state against the runbook's condition (pure: tested without a fleet)."""
    found = next((x for x in service.members if x.name == member), None)
    if found is None:
        return Confirmation(
            UNCONFIRMED, m.confirm_unknown_member(service.name, member), None, service
        )
    seen = facts(found)
    said = m.member_seen(found.name, found.role, found.state, found.lag_bytes)
    roles: list[str] = list(condition.roles)
    if found.role not in roles:
        return Confirmation(UNCONFIRMED, m.confirm_wrong_role(said, roles), seen, service)
    lagging = (
        condition.lag_bytes_above is not None and (found.lag_bytes or 0) > condition.lag_bytes_above
    )
    if lagging or found.state in condition.states:
        return Confirmation(None, None, seen, service)
    wanted = m.confirm_condition(roles, condition.lag_bytes_above, list(condition.states))
    return Confirmation(UNCONFIRMED, m.confirm_no_fault(said, wanted), seen, service)


def facts(member: Member) -> dict[str, Any]:
    return {"member": member.name, "role": member.role, "state": member.state,
            "healthy": member.healthy, "lag_bytes": member.lag_bytes}  # fmt: skip
