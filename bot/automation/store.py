"""What the limits are judged on, read from the recorded runs, and the kill switch.

Every decision runs `decision_lock` first, in its own write transaction: on PostgreSQL the
switch row is locked FOR UPDATE, on SQLite the transaction already holds the write lock
(`bot.db.unit_of_work`, `reads_decide`), so the counts read next cannot change before the
new run is in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.automation.models import ACTIVE, COUNTED, FINISHED, SWITCH_ID, AutomationRun
from bot.automation.models import AutomationSwitch as Switch

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class SwitchState:
    paused: bool = False
    changed_by: str | None = None
    changed_at: datetime | None = None
    resumed_at: datetime | None = None


@dataclass(frozen=True)
class Usage:
    """Counts for one runbook and service: (this runbook's, all runbooks')."""

    runs_last_hour: tuple[int, int]
    active: tuple[int, int]
    failures_in_a_row: tuple[int, int]
    # The latest real run on the service within the feedback window, if any.
    recent_run: AutomationRun | None = None


async def decision_lock(session: AsyncSession) -> SwitchState:
    row = await session.scalar(select(Switch).where(Switch.id == SWITCH_ID).with_for_update())
    return _state(row)


async def switch_state(session: AsyncSession) -> SwitchState:
    return _state(await session.get(Switch, SWITCH_ID, populate_existing=True))


def _state(row: Switch | None) -> SwitchState:
    if row is None:
        return SwitchState()
    return SwitchState(row.paused, row.changed_by, row.changed_at, row.resumed_at)


async def set_paused(
    session: AsyncSession, *, paused: bool, by: str, now: datetime, reason: str | None
) -> bool:
    """Flip the switch; False when it already was so. Resuming also restarts the count of
    failures in a row, so a runbook stopped by failures runs again after a person looked."""
    row = await session.scalar(select(Switch).where(Switch.id == SWITCH_ID).with_for_update())
    if row is None:
        row = Switch(id=SWITCH_ID, paused=False)
        session.add(row)
    changed = row.paused != paused
    row.paused, row.changed_by, row.changed_at, row.reason = paused, by, now, reason
    if not paused:
        row.resumed_at = now
    return changed or not paused


async def _count(session: AsyncSession, *where: object) -> int:
    return int(await session.scalar(select(func.count()).where(*where)) or 0)  # type: ignore[arg-type]


async def _streak(
    session: AsyncSession, since: datetime | None, runbook: str | None, limit: int
) -> int:
    """Failures in a row among the latest finished runs (since the last resume)."""
    query = select(AutomationRun.state).where(AutomationRun.state.in_(FINISHED))
    if since is not None:
        query = query.where(AutomationRun.finished_at >= since)
    if runbook is not None:
        query = query.where(AutomationRun.runbook == runbook)
    latest = await session.scalars(
        query.order_by(AutomationRun.finished_at.desc(), AutomationRun.id.desc()).limit(limit)
    )
    streak = 0
    for state in latest:
        if state != "failed":
            break
        streak += 1
    return streak


async def usage(
    session: AsyncSession,
    *,
    runbook: str,
    service: str,
    now: datetime,
    switch: SwitchState,
    stale_after: timedelta,
    feedback_window: timedelta,
    streak_limit: int,
) -> Usage:
    run = AutomationRun
    hour = (run.service == service, run.state.in_(COUNTED), run.decided_at >= now - HOUR)
    # A start a crash left behind stops holding a slot when its lock would have lapsed.
    active = (run.state.in_(ACTIVE), run.decided_at >= now - stale_after)
    recent = None
    if feedback_window > timedelta(0):
        recent = await session.scalar(
            select(run)
            .where(
                run.service == service,
                run.state.in_((*ACTIVE, *FINISHED)),
                run.decided_at >= now - feedback_window,
            )
            .order_by(run.decided_at.desc())
            .limit(1)
        )
    return Usage(
        runs_last_hour=(
            await _count(session, *hour, run.runbook == runbook),
            await _count(session, *hour),
        ),
        active=(
            await _count(session, *active, run.runbook == runbook),
            await _count(session, *active),
        ),
        failures_in_a_row=(
            await _streak(session, switch.resumed_at, runbook, streak_limit),
            await _streak(session, switch.resumed_at, None, streak_limit),
        ),
        recent_run=recent,
    )


async def last_runs(session: AsyncSession, limit: int) -> list[AutomationRun]:
    """The newest runbook runs first (the App Home's automation status)."""
    stmt = select(AutomationRun).order_by(AutomationRun.decided_at.desc()).limit(limit)
    return list(await session.scalars(stmt))
