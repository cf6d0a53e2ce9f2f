"""How automation's runs ended, said in the incident thread once the guarded flow has
finished them (tracking runs the post-check and records it).

A run counts as *fixed* only when the operation succeeded and its post-check passed; the
audit row `automation.decided` with outcome `succeeded` is what the handoff summary counts
as "fixed without a human". Anything else is a failure: the on-call is mentioned and,
where configured, PagerDuty triggered. Finishing is a conditional UPDATE `running → …`, so
two replicas sweeping at once report a run once.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from bot import messages as m
from bot.actions.models import FINISHED as REQUEST_FINISHED
from bot.actions.models import ActionRequest
from bot.audit import vocabulary as v
from bot.audit.models import AuditEntry
from bot.automation.models import AutomationRun
from bot.automation.report import Report
from bot.automation.store import switch_state
from bot.db.unit_of_work import writing
from bot.incidents import followup
from bot.incidents.models import Incident
from bot.incidents.thread import ThreadWriter
from bot.runtime import Runtime

log = logging.getLogger(__name__)


async def settle(rt: Runtime) -> int:
    """Report every run whose request has finished; returns how many were reported."""
    async with rt.sessions() as session:
        rows = (
            await session.execute(
                select(AutomationRun, ActionRequest)
                .join(ActionRequest, ActionRequest.id == AutomationRun.request_id)
                .where(
                    AutomationRun.state == "running",
                    ActionRequest.state.in_(REQUEST_FINISHED),
                )
                .order_by(AutomationRun.id)
            )
        ).all()
    settled = 0
    for run, request in rows:
        try:
            settled += await _settle_one(rt, run, request)
        except Exception:  # one run's trouble must not hide the others' results
            log.exception("reporting automation run %s failed", run.id)
    return settled


async def _post_check(rt: Runtime, request: ActionRequest) -> str | None:
    if request.operation_id is None:
        return None
    async with rt.sessions() as session:
        return await session.scalar(
            select(AuditEntry.outcome)
            .where(AuditEntry.action == v.POST_CHECK, AuditEntry.ref == request.operation_id)
            .order_by(AuditEntry.seq.desc())
            .limit(1)
        )


async def _settle_one(rt: Runtime, run: AutomationRun, request: ActionRequest) -> int:
    check = await _post_check(rt, request)
    fixed = request.state == "succeeded" and check == v.SUCCEEDED
    why = request.detail or m.automation_post_check_failed(request.state)
    async with writing(rt.sessions, reads_decide=True) as session:
        moved = await session.execute(
            update(AutomationRun)
            .where(AutomationRun.id == run.id, AutomationRun.state == "running")
            .values(state="succeeded" if fixed else "failed", finished_at=rt.clock(),
                    detail=None if fixed else why)
        )  # fmt: skip
        incident = await session.scalar(
            select(Incident).where(Incident.id == run.incident_id).with_for_update()
        )
        if int(moved.rowcount or 0) != 1 or incident is None:  # type: ignore[attr-defined]
            return 0
        run.state, run.detail = ("succeeded", None) if fixed else ("failed", why)
        report = Report(ThreadWriter(session, rt), incident, await switch_state(session))
        extra = {"operation": request.operation_id, "post_check": check}
        if fixed:
            report.say(m.automation_fixed(run.action, run.service, request.operation_id))
            await report.record(run, v.SUCCEEDED, **extra)
        else:
            report.say(m.automation_failed(run.action, run.service, why))
            await report.record(run, v.FAILED, **extra)
            await report.escalate(why)
        await report.w.finish()
    rt.wake_outbox()
    if report.pagerduty:
        followup.kick_pagerduty(rt)
    return 1
