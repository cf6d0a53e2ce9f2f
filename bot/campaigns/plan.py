"""The preview of a campaign: the targets a selector names, what is left out and why, the
waves, the rate controls, the estimated duration and the blast radius per region; and
the binding an approval is given to (docs/campaigns.md, "Plan and approval").

Left out at the preview, each with its reason: a service in an open incident (people are
working on it), one locked by another action, one under a running operation, one whose
action the requester is not permitted (`policies:`), one frozen now. Every guard of the
action still runs for each target at its turn (bot/campaigns/turn.py); this list is what
can be said before anything starts.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions.catalog import CATALOG, ActionSpec
from bot.actions.lifecycle import RUNNING
from bot.actions.models import ActionRequest
from bot.actions.port import action_backend
from bot.actions.store import active_locks
from bot.campaigns.rate import RateControls, Resolved, ramp
from bot.fleet.targets import matching, target_digest
from bot.incidents.models import OPEN_STATES, Incident, PageRecord
from bot.permissions.roles import holds
from bot.permissions.usergroups import role_book
from bot.runtime import Runtime
from integrations.fleet.errors import FleetError
from integrations.fleet.models import ServiceSummary
from integrations.fleet.selector import Selector

# Why a target is left out at the preview; the words are also the grouping of the card.
IN_INCIDENT = "in an open incident"
LOCKED = "locked by another action"
UNDER_OPERATION = "under a running operation"
NOT_PERMITTED = "not permitted for the requester"
FROZEN = "in a change freeze"


# `/fleet campaign pause|resume <id>` steer a campaign: the HA actions of those names
# cannot be a campaign's action, or the command would mean two things.
CONTROL_WORDS = ("list", "status", "pause", "resume", "abort")


def campaign_actions() -> list[str]:
    """Actions a campaign can run: fleet actions that need no per-service parameter (a
    member, a topic) and no mode word, so one command means the same on every target."""
    return [
        s.name
        for s in CATALOG.values()
        if s.fleet_action is not None
        and not s.mode_word
        and not any(p.required for p in s.params)
        and s.name not in CONTROL_WORDS
    ]


def campaign_spec(action: str) -> ActionSpec | None:
    return CATALOG[action] if action in campaign_actions() else None


@dataclass
class Preview:
    action: str
    selector: str
    rate: RateControls
    resolved: Resolved
    matched: int
    digest: str
    runnable: list[ServiceSummary]
    skipped: list[tuple[ServiceSummary, str]]
    estimate_seconds: float
    per_target_seconds: float | None
    by_region: Counter[str] = field(default_factory=Counter)

    @property
    def skipped_by_reason(self) -> Counter[str]:
        return Counter(reason for _s, reason in self.skipped)


def binding_hash(
    *, action: str, params: dict[str, object], selector: str, digest: str, rate: RateControls
) -> str:
    """What an approval is bound to: change any of these and the approvals no longer count."""
    canonical = json.dumps(
        {
            "action": action,
            "params": params,
            "selector": selector,
            "targets": digest,
            "rate": rate.canonical(),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _services_in_open_incidents(session: AsyncSession) -> set[str]:
    own = await session.scalars(
        select(Incident.service).where(
            Incident.status.in_(OPEN_STATES), Incident.service.is_not(None)
        )
    )
    paged = await session.scalars(
        select(PageRecord.service)
        .join(Incident, Incident.id == PageRecord.incident_id)
        .where(Incident.status.in_(OPEN_STATES), PageRecord.service.is_not(None))
        .distinct()
    )
    return {s for s in (*own, *paged) if s}


@dataclass(frozen=True)
class Blockers:
    in_incident: set[str]
    locked: set[str]
    operating: set[str]


async def blockers(rt: Runtime, now: datetime) -> Blockers:
    async with rt.sessions() as session:
        incident = await _services_in_open_incidents(session)
        locked = {lock.resource for lock in await active_locks(session, now)}
        operating = set(
            await session.scalars(
                select(ActionRequest.target).where(ActionRequest.state.in_(RUNNING))
            )
        )
    return Blockers(incident, locked, operating)


def skip_reason(
    rt: Runtime, action: str, requester: str, name: str, found: Blockers, now: datetime
) -> str | None:
    policy = rt.config.policies
    if name in found.in_incident:
        return IN_INCIDENT
    if name in found.operating:
        return UNDER_OPERATION
    if name in found.locked:
        return LOCKED
    rule = policy.rule_for(action, name)
    if rule is None or not holds(role_book(rt), requester, rule[1].roles):
        return NOT_PERMITTED
    if policy.active_freeze(action, name, now) is not None:
        return FROZEN
    return None


async def _per_target_seconds(
    rt: Runtime, spec: ActionSpec, first: ServiceSummary | None, requester: str
) -> float | None:
    """The fleet's own estimate for one target (its dry run), the unit of the estimate."""
    if first is None or spec.fleet_action is None:
        return None
    try:
        plan = await action_backend(rt.fleet, first.name).plan(
            first.name, spec.fleet_action, {}, requester
        )
    except FleetError:
        return None
    return plan.estimated_seconds


def estimate(resolved: Resolved, per_target: float | None) -> float:
    """Waves one after the other, each in rounds of `concurrency` (the ramp's first rounds
    counted as they are: 1, 2, 4, ...), with the bake between waves."""
    if per_target is None:
        return 0.0
    rounds, finished = 0, 0
    for size in resolved.wave_sizes():
        left = size
        while left > 0:
            batch = min(left, ramp(resolved.concurrency, finished))
            if batch >= resolved.concurrency:
                rounds += math.ceil(left / resolved.concurrency)
                finished += left
                break
            left -= batch
            finished += batch
            rounds += 1
    bakes = max(0, len(resolved.wave_ends) - 1) * resolved.bake_seconds
    return rounds * per_target + bakes


async def resolve(rt: Runtime, selector: Selector) -> list[ServiceSummary]:
    """Every service the selector names, in a stable order (by name): the campaign's order."""
    found = [s async for page in matching(rt, selector) for s in page]
    found.sort(key=lambda s: s.name)
    return found


def digest_of(services: Iterable[ServiceSummary]) -> str:
    return target_digest(s.name for s in services)


async def preview(
    rt: Runtime,
    *,
    action: str,
    selector: Selector,
    rate: RateControls,
    requester: str,
    services: list[ServiceSummary],
) -> Preview:
    spec = CATALOG[action]
    now = rt.clock()
    found = await blockers(rt, now)
    runnable: list[ServiceSummary] = []
    skipped: list[tuple[ServiceSummary, str]] = []
    for s in services:
        reason = skip_reason(rt, action, requester, s.name, found, now)
        if reason is None:
            runnable.append(s)
        else:
            skipped.append((s, reason))
    cap = rt.config.campaigns.max_concurrency
    resolved = rate.resolve(len(runnable), max_concurrency=cap)
    per_target = await _per_target_seconds(rt, spec, runnable[0] if runnable else None, requester)
    return Preview(
        action=action,
        selector=str(selector),
        rate=rate,
        resolved=resolved,
        matched=len(services),
        digest=digest_of(services),
        runnable=runnable,
        skipped=skipped,
        estimate_seconds=estimate(resolved, per_target),
        per_target_seconds=per_target,
        by_region=Counter(s.region for s in runnable),
    )
