"""The limits, judged on recorded usage: which one a new run would break, if any.

Each limit exists at two levels: the runbook's own (counting that runbook's runs) and
`automation.limits` (counting every runbook's). The capacity floor is judged on the
fleet's state of the service, through the guard chain's own capacity guard.
"""

from __future__ import annotations

from datetime import datetime

from bot import messages as m
from bot.actions.catalog import params_hash
from bot.actions.consent import CapacityFloor
from bot.actions.guard_chain import Facts, GuardContext, Person, RequestView
from bot.actions.policy import PoliciesConfig
from bot.audit.actors import AUTOMATION_ID
from bot.automation.config import AutomationConfig, Limits, RunbookConfig
from bot.automation.store import Usage
from integrations.fleet.models import Service


def _levels(runbook: RunbookConfig, config: AutomationConfig) -> list[tuple[str, Limits, int]]:
    """(scope, limits, index into Usage pairs): the runbook's own, then fleet-wide."""
    return [(f"runbook {runbook.name}", runbook.limits, 0), ("fleet-wide", config.limits, 1)]


def limit_hit(
    runbook: RunbookConfig, config: AutomationConfig, used: Usage, service: str
) -> str | None:
    """Why a new run may not start now, or None when every limit has room."""
    for scope, limits, i in _levels(runbook, config):
        if limits.stop_after_failures and used.failures_in_a_row[i] >= limits.stop_after_failures:
            return m.limit_failures(scope, used.failures_in_a_row[i])
        runs = used.runs_last_hour[i]
        cap = limits.runs_per_service_per_hour
        if cap is not None and runs >= cap:
            return m.limit_runs(scope, service, runs, cap)
        if limits.max_concurrent is not None and used.active[i] >= limits.max_concurrent:
            return m.limit_concurrent(scope, used.active[i], limits.max_concurrent)
    return None


def hourly_cap(runbook: RunbookConfig, config: AutomationConfig) -> int | None:
    """The tighter of the two hourly limits, for telling how much budget is left."""
    caps = [
        c
        for c in (runbook.limits.runs_per_service_per_hour, config.limits.runs_per_service_per_hour)
        if c is not None
    ]
    return min(caps) if caps else None


def capacity_floor(runbook: RunbookConfig, config: AutomationConfig) -> int | None:
    floors = [
        f
        for f in (runbook.limits.min_healthy_members, config.limits.min_healthy_members)
        if f is not None
    ]
    return max(floors) if floors else None


def capacity_refusal(
    action: str,
    params: dict[str, str],
    service: Service,
    floor: int,
    policy: PoliciesConfig,
    now: datetime,
) -> str | None:
    """The guard chain's capacity check with automation's own floor; None when it holds."""
    view = RequestView(
        id="automation-precheck",
        action=action,
        target=service.name,
        params=dict(params),
        params_hash=params_hash(action, service.name, params),
        requester=Person(AUTOMATION_ID),
    )
    # No rule: the floor below is the one the guard applies.
    own = policy.model_copy(update={"rules": [], "min_healthy_members": floor})
    ctx = GuardContext("submit", view, own, {}, Facts(now=now, service=service))
    verdict = CapacityFloor().check(ctx)
    if verdict.kind == "deny":
        return m.limit_capacity(service.name, service.healthy_members, floor)
    return None
