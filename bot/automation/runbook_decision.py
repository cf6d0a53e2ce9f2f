"""One page, one runbook: the decision, taken and said in one transaction, in this order:

- the page's source may not start automation: `untrusted`, a person is needed;
- suggest mode: `unconfirmed` when the fleet does not show the fault (a person is
  needed), else `suggested`, a button in the thread; nothing runs;
- the kill switch paused: `paused`, a person is needed;
- a limit hit: `limited`, a person is needed;
- the page follows automation's own run on the service: `feedback`, counted, no run;
- the fleet does not show the fault (bot/automation/confirm.py): `unconfirmed`, a
  person is needed;
- below the capacity floor: `limited`;
- dry-run mode: `dry_run`, with what the guards that need no fleet say;
- otherwise `starting`: the caller submits the request to the guarded flow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages as m
from bot.actions import guards
from bot.actions.catalog import params_hash
from bot.actions.guard_chain import GuardContext, Person, RequestView, evaluate
from bot.actions.journal import audit_ready
from bot.actions.store import load_facts
from bot.audit import vocabulary as v
from bot.audit.actors import AUTOMATION_ID
from bot.automation.config import RunbookConfig
from bot.automation.confirm import UNTRUSTED, Confirmation
from bot.automation.limits import hourly_cap, limit_hit
from bot.automation.models import AutomationRun
from bot.automation.report import Report, suggestion_button
from bot.automation.store import SwitchState, Usage, decision_lock, usage
from bot.db.unit_of_work import writing
from bot.incidents.models import Incident, PageRecord
from bot.incidents.thread import ThreadWriter
from bot.permissions.usergroups import role_book
from bot.runtime import Runtime

AUTOMATION_PERSON = Person(AUTOMATION_ID, "Watchkeeper automation")


@dataclass(frozen=True)
class Match:
    runbook: RunbookConfig
    page: PageRecord
    params: dict[str, str]
    alert: str

    @property
    def service(self) -> str:
        assert self.page.service is not None
        return self.page.service

    @property
    def idempotency_key(self) -> str:
        """Derived from the page: a re-delivery, a second replica or a retry is one run."""
        digest = params_hash(self.page.source, self.page.dedup_key, {"epoch": self.page.epoch})
        return f"automation:{self.runbook.name}:{digest[:40]}"


@dataclass
class Decided:
    run: AutomationRun
    incident: Incident
    pagerduty: bool


async def decide(
    rt: Runtime, match: Match, capacity: str | None, confirmed: Confirmation
) -> Decided | None:
    """Record the decision for the page and say it; None when it was decided before."""
    async with writing(rt.sessions, reads_decide=True) as session:
        switch = await decision_lock(session)
        seen = await session.scalar(
            select(AutomationRun.id).where(
                AutomationRun.runbook == match.runbook.name,
                AutomationRun.page_id == match.page.id,
            )
        )
        incident = await session.scalar(
            select(Incident).where(Incident.id == match.page.incident_id).with_for_update()
        )
        if seen is not None or incident is None:
            return None
        run = AutomationRun(
            runbook=match.runbook.name, page_id=match.page.id, incident_id=incident.id,
            service=match.service, action=match.runbook.action,
            params=json.dumps(match.params, sort_keys=True), mode=match.runbook.mode,
            state="starting", decided_at=rt.clock(),
        )  # fmt: skip
        used = await _usage(session, rt, match, switch)
        run.state, run.detail = await _judge(session, rt, match, switch, used, capacity, confirmed)
        session.add(run)
        await session.flush()
        report = Report(ThreadWriter(session, rt), incident, switch)
        await _say(report, run, match, used, confirmed)
        await report.w.finish()
    rt.wake_outbox()
    return Decided(run, incident, report.pagerduty)


async def _usage(session: AsyncSession, rt: Runtime, match: Match, switch: SwitchState) -> Usage:
    cfg = rt.config.automation
    streak = max(
        (x for x in (match.runbook.limits.stop_after_failures, cfg.limits.stop_after_failures)
         if x is not None),
        default=1,
    )  # fmt: skip
    return await usage(
        session,
        runbook=match.runbook.name,
        service=match.service,
        now=rt.clock(),
        switch=switch,
        stale_after=timedelta(minutes=rt.config.policies.lock_ttl_minutes),
        feedback_window=timedelta(minutes=cfg.feedback_window_minutes),
        streak_limit=streak,
    )


async def _judge(
    session: AsyncSession,
    rt: Runtime,
    match: Match,
    switch: SwitchState,
    used: Usage,
    capacity: str | None,
    confirmed: Confirmation,
) -> tuple[str, str | None]:
    runbook = match.runbook
    refused = (confirmed.refused, confirmed.reason) if confirmed.refused else None
    if refused is not None and confirmed.refused == UNTRUSTED:
        return refused
    if runbook.mode == "suggest":
        return refused or ("suggested", None)
    if switch.paused:
        return "paused", m.AUTOMATION_PAUSED
    hit = limit_hit(runbook, rt.config.automation, used, match.service)
    if hit is not None:
        return "limited", hit
    if used.recent_run is not None:
        return "feedback", f"follows run #{used.recent_run.id} ({used.recent_run.action})"
    if refused is not None:
        return refused
    if capacity is not None:
        return "limited", capacity
    if runbook.mode == "dry-run":
        return "dry_run", await _dry_verdict(session, rt, match)
    return "starting", None


async def _dry_verdict(session: AsyncSession, rt: Runtime, match: Match) -> str:
    """What the guards that need no fleet would say: the dry run never reaches the fleet."""
    view = RequestView(
        id=f"dry-run:{match.page.id}",
        action=match.runbook.action,
        target=match.service,
        params=dict(match.params),
        params_hash=params_hash(match.runbook.action, match.service, match.params),
        requester=AUTOMATION_PERSON,
    )
    policy = rt.config.policies
    facts = await load_facts(session, view, policy, rt.clock(), audit_ready=audit_ready(rt))
    ctx = GuardContext("submit", view, policy, role_book(rt), facts)
    denial = evaluate(guards.PRE_PLAN, ctx).denial
    return m.dry_run_denied(denial.verdict.reason) if denial else m.DRY_RUN_ALLOWED


async def _say(
    report: Report, run: AutomationRun, match: Match, used: Usage, confirmed: Confirmation
) -> None:
    book, action, service = match.runbook.name, run.action, run.service
    # What the fleet showed, beside every decision that acts on it.
    seen = f"\n{m.automation_seen(confirmed.said)}" if confirmed.said else ""
    if run.state in (v.UNTRUSTED, v.UNCONFIRMED):
        report.say(m.automation_unconfirmed(book, run.detail or run.state))
        await report.record(run, run.state, seen=confirmed.seen)
        await report.escalate(run.detail or run.state)
    elif run.state == "suggested":
        report.say(
            m.automation_suggested(book, action, service, None) + seen,
            suggestion_button(run.incident_id, action, match.params),
        )
        await report.record(run, v.SUGGESTED, seen=confirmed.seen)
    elif run.state in ("paused", "limited"):
        report.say(m.automation_limited(book, run.detail or "") if run.state == "limited"
                   else m.automation_paused_skip(book))  # fmt: skip
        await report.record(run, v.PAUSED if run.state == "paused" else v.LIMITED,
                            seen=confirmed.seen)  # fmt: skip
        await report.escalate(run.detail or run.state)
    elif run.state == "feedback":
        cap = hourly_cap(match.runbook, report.w.rt.config.automation)
        report.say(m.automation_feedback(action, service, used.runs_last_hour[1] + 1, cap))
        await report.record(run, v.FEEDBACK, seen=confirmed.seen)
    elif run.state == "dry_run":
        report.say(
            m.automation_dry_run(book, action, service, match.params, run.detail or "") + seen
        )
        would = {"action": action, "target": service, "params": match.params,
                 "idempotency_key": match.idempotency_key}  # fmt: skip
        await report.record(run, v.DRY_RUN, would_run=would, seen=confirmed.seen)
    else:
        report.say(m.automation_starting(book, action, service, match.params, match.alert) + seen)
        await report.record(
            run, v.ACCEPTED, idempotency_key=match.idempotency_key, seen=confirmed.seen
        )
