"""Pages in, runbooks applied: the entry point after ingest commits, and the run itself.

Kept off the webhook path: ingest calls `on_new_pages` after its commit, which only starts
a task; the fleet read (the confirm step, the capacity floor) and the guarded flow run
there. A run goes
through `bot.actions.flow.submit` as the actor `watchkeeper:automation`, so every guard,
the lock, the idempotency key and the audit rows are the ones a person's request gets.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages as m
from bot.actions import flow
from bot.actions.models import ActionRequest
from bot.actions.notify import thread_by_key
from bot.audit import vocabulary as v
from bot.automation.config import RunbookConfig, runbook_for
from bot.automation.confirm import confirm, is_trusted
from bot.automation.limits import capacity_floor, capacity_refusal
from bot.automation.models import AutomationRun
from bot.automation.report import Report, suggestion_button
from bot.automation.runbook_decision import AUTOMATION_PERSON, Decided, Match, decide
from bot.automation.store import switch_state
from bot.db.unit_of_work import writing
from bot.incidents import followup
from bot.incidents.models import Incident, PageRecord
from bot.incidents.thread import ThreadWriter
from bot.runtime import Runtime
from integrations.fleet.models import Service
from integrations.pages import Page

log = logging.getLogger(__name__)


def on_new_pages(rt: Runtime, page_ids: list[int]) -> None:
    if rt.config.automation.enabled and rt.config.runbooks:
        rt.background.spawn(handle_pages(rt, page_ids), "automation")


def labels_of(page: PageRecord | Page) -> dict[str, str]:
    """The page's labels and its fields, as routing sees them (stored or just received).
    The fields intake normalized win: a label `service` or `source` cannot send a runbook
    to another service or pass for another sender; labels only fill what the page lacks."""
    fields = {"service": page.service, "kind": page.kind, "severity": page.severity,
              "source": page.source, "title": page.title}  # fmt: skip
    labels = page.labels if isinstance(page, Page) else json.loads(page.labels or "{}")
    return {**labels, **{k: str(x) for k, x in fields.items() if x is not None}}


def runbook_and_params(
    rt: Runtime, labels: dict[str, str]
) -> tuple[RunbookConfig, dict[str, str]] | None:
    """The first matching runbook and its parameters; None when no runbook matches or the
    page cannot fill the parameters of the one that does (then it is people's)."""
    runbook = runbook_for(rt.config.runbooks, labels)
    params = runbook.params_for(labels) if runbook is not None else None
    return (runbook, params) if runbook is not None and params is not None else None


async def handled_automatically(rt: Runtime, session: AsyncSession, page: Page) -> bool:
    """Will automation try to fix this page by itself (so nobody need be woken now)?
    Asked in ingest's transaction, before the page is stored; a limit hit, a refusal or a
    failure later mentions the on-call (`Report.escalate`)."""
    if not (rt.config.automation.enabled and page.service and page.status == "firing"):
        return False
    if not is_trusted(rt.config, page.source):
        return False
    found = runbook_and_params(rt, labels_of(page))
    if found is None or found[0].mode != "auto":
        return False
    return not (await switch_state(session)).paused


async def handle_pages(rt: Runtime, page_ids: list[int]) -> int:
    """Apply the first matching runbook to each firing page; returns how many were decided."""
    async with rt.sessions() as session:
        pages = list(
            await session.scalars(
                select(PageRecord)
                .where(PageRecord.id.in_(page_ids), PageRecord.status == "firing")
                .where(PageRecord.incident_id.is_not(None), PageRecord.service.is_not(None))
                .order_by(PageRecord.id)
            )
        )
    decided = 0
    for page in pages:
        labels = labels_of(page)
        found = runbook_and_params(rt, labels)
        if found is None:
            continue
        match = Match(found[0], page, found[1], labels.get("alertname", page.title))
        try:
            decided += await apply(rt, match)
        except Exception:  # one page's trouble must not stop the others
            log.exception("automation of page %s failed", page.id)
    return decided


async def apply(rt: Runtime, match: Match) -> int:
    confirmed = await confirm(
        rt.config, rt.fleet, match.runbook, match.page.source, match.service,
        match.params.get("member"),
    )  # fmt: skip
    capacity = _capacity(rt, match, confirmed.service) if match.runbook.mode == "auto" else None
    outcome = await decide(rt, match, capacity, confirmed)
    if outcome is None:
        return 0
    if outcome.pagerduty:
        followup.kick_pagerduty(rt)
    if outcome.run.state == "starting":
        await _run(rt, match, outcome)
    return 1


def _capacity(rt: Runtime, match: Match, service: Service | None) -> str | None:
    """The capacity floor, from the fleet's state the confirm step read (outside any
    transaction); no state read: the confirm step refused, and that decides first."""
    floor = capacity_floor(match.runbook, rt.config.automation)
    if floor is None or service is None:
        return None
    return capacity_refusal(
        match.runbook.action, match.params, service, floor, rt.config.policies, rt.clock()
    )


async def _run(rt: Runtime, match: Match, decided: Decided) -> None:
    incident = decided.incident
    draft = flow.Draft(
        action=match.runbook.action,
        target=match.service,
        params=dict(match.params),
        requester=AUTOMATION_PERSON,
        channel_id=incident.channel,
        idempotency_key=match.idempotency_key,
        reason=f"runbook {match.runbook.name}: {match.alert} (page {match.page.id})",
        thread_ts=thread_by_key(incident.root_key) if incident.has_thread else None,
    )
    try:
        await flow.submit(rt, draft)
    except Exception:  # the request row (or its absence) says what happened
        log.exception("automation request %s failed to submit", match.idempotency_key)
    async with rt.sessions() as session:
        request = await session.scalar(
            select(ActionRequest).where(ActionRequest.idempotency_key == match.idempotency_key)
        )
    await _after_submit(rt, match, decided.run, request)


async def _after_submit(
    rt: Runtime, match: Match, run: AutomationRun, request: ActionRequest | None
) -> None:
    state: str
    detail: str | None
    if request is None:
        state, detail = "failed", "the request could not be recorded"
    elif request.state == "denied" and request.detail == m.AUTOMATION_NEEDS_APPROVAL:
        state, detail = "suggested", request.detail
    elif request.state in ("denied", "cancelled", "expired"):
        state, detail = "refused", request.detail
    else:  # running, or already ended: the results sweep reports how it ended
        state, detail = "running", None
    request_id = request.id if request is not None else None
    pagerduty = False
    async with writing(rt.sessions, reads_decide=True) as session:
        moved = await session.execute(
            update(AutomationRun)
            .where(AutomationRun.id == run.id, AutomationRun.state == "starting")
            .values(state=state, detail=detail, request_id=request_id,
                    finished_at=None if state == "running" else rt.clock())
        )  # fmt: skip
        incident = await session.scalar(
            select(Incident).where(Incident.id == run.incident_id).with_for_update()
        )
        if int(moved.rowcount or 0) != 1 or incident is None or state == "running":  # type: ignore[attr-defined]
            return
        run.state, run.detail, run.request_id = state, detail, request_id
        report = Report(ThreadWriter(session, rt), incident, await switch_state(session))
        if state == "suggested":
            report.say(
                m.automation_suggested(run.runbook, run.action, run.service, detail),
                suggestion_button(incident.id, run.action, match.params),
            )
            await report.record(run, v.SUGGESTED)
            # Its incident opened quietly, counting on this run: someone must click.
            await report.escalate(detail or state)
        else:
            why = detail or state
            report.say(m.automation_refused(run.action, run.service, why))
            await report.record(run, v.DENIED if state == "refused" else v.FAILED)
            await report.escalate(why)
        await report.w.finish()
        pagerduty = report.pagerduty
    rt.wake_outbox()
    if pagerduty:
        followup.kick_pagerduty(rt)
