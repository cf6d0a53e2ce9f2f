"""The heartbeat: is the bot able to do its job, and if not, what is wrong.

One look at the database (`take_snapshot`) gives the facts; `problems_in` turns them into
named problems against `monitoring:`'s thresholds:

    database        the database does not answer, or its schema is not the one shipped
    outbox_stuck    the oldest undelivered Slack write waited past outbox_stuck_seconds
    no_leader       the scheduler lease expired no_leader_seconds ago and nobody took it
    intake_silent:S an expected source S sent nothing for its minutes

Everything read is shared state (the database), not one process's memory, so every
replica, leader or not, reaches the same answer; that is what lets a replica that is not
the leader report "no leader".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.automation.store import switch_state
from bot.db.migrate import runs_on, schema_state
from bot.db.models import LeaderLease, OutboxMessage
from bot.incidents.models import OPEN_STATES, Incident
from bot.monitoring.config import MonitoringConfig
from bot.monitoring.findings import Problem, Snapshot
from bot.monitoring.models import IntakeSource
from bot.runtime import Runtime
from bot.scheduler import LEASE_NAME

UNDELIVERED = ("pending", "sending")
DATABASE = "database"
OUTBOX_STUCK = "outbox_stuck"
NO_LEADER = "no_leader"
INTAKE_SILENT = "intake_silent:"


@dataclass(frozen=True)
class Health:
    problems: list[Problem]
    snapshot: Snapshot | None
    # "ok", or the kind of error the database answered with.
    database: str = "ok"
    schema: str | None = None
    expected_schema: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


async def take_snapshot(session: AsyncSession, config: MonitoringConfig, now: datetime) -> Snapshot:
    depth, oldest = (
        await session.execute(
            select(func.count(), func.min(OutboxMessage.created_at)).where(
                OutboxMessage.status.in_(UNDELIVERED)
            )
        )
    ).one()
    incidents = await session.scalar(select(func.count()).where(Incident.status.in_(OPEN_STATES)))
    lease = await session.get(LeaderLease, LEASE_NAME)
    expected = list(config.expected_sources)
    seen = await session.execute(
        select(IntakeSource.source, IntakeSource.last_delivery_at).where(
            IntakeSource.source.in_(expected)
        )
    ) if expected else None  # fmt: skip
    switch = await switch_state(session)
    # `min` keeps the column's type, so this is an aware UTC datetime on both databases.
    oldest_at: datetime | None = oldest
    return Snapshot(
        at=now,
        outbox_depth=int(depth or 0),
        outbox_oldest_age=max(0.0, (now - oldest_at).total_seconds()) if oldest_at else 0.0,
        incidents_open=int(incidents or 0),
        lease_expires_at=lease.expires_at if lease is not None else None,
        last_delivery={source: at for source, at in seen} if seen is not None else {},
        automation_paused_since=(switch.changed_at or now) if switch.paused else None,
    )


def problems_in(config: MonitoringConfig, snap: Snapshot, since: datetime) -> list[Problem]:
    """The problems `snap` shows; `since` is when this replica started watching, the
    reference for things never recorded (no lease ever, a source never heard from)."""
    found: list[Problem] = []
    if snap.outbox_oldest_age > config.outbox_stuck_seconds:
        found.append(
            Problem(
                OUTBOX_STUCK,
                f"the oldest of {snap.outbox_depth} undelivered Slack messages has waited "
                f"{snap.outbox_oldest_age:.0f}s (limit {config.outbox_stuck_seconds}s)",
            )
        )
    ran_out = snap.lease_expires_at or since
    leaderless = (snap.at - ran_out).total_seconds()
    if leaderless > config.no_leader_seconds:
        what = "expired" if snap.lease_expires_at else "was never taken"
        found.append(
            Problem(
                NO_LEADER,
                f"the scheduler lease {what} {leaderless:.0f}s ago and no replica holds it: "
                "escalations, handoffs and sweeps are not running",
            )
        )
    for source, minutes in sorted(config.expected_sources.items()):
        last = snap.last_delivery.get(source, since)
        silent = (snap.at - last).total_seconds()
        if silent > minutes * 60:
            found.append(
                Problem(
                    INTAKE_SILENT + source,
                    f"no delivery from {source} for {silent / 60:.0f} min "
                    f"(expected at least every {minutes} min)",
                )
            )
    return found


async def assess(rt: Runtime, since: datetime) -> Health:
    """The whole heartbeat, as /readyz and the periodic check see it."""
    try:
        current, head = await schema_state(rt.engine)
        async with rt.sessions() as session:
            snap = await take_snapshot(session, rt.config.monitoring, rt.clock())
    except Exception as exc:  # any database failure is the problem, named by its kind
        kind = type(exc).__name__
        return Health([Problem(DATABASE, f"the database does not answer ({kind})")], None, kind)
    problems = problems_in(rt.config.monitoring, snap, since)
    if not runs_on(current, head):
        schema = Problem(DATABASE, f"the schema is at {current}, this release expects {head}")
        problems.insert(0, schema)
    return Health(problems, snap, "ok", current, head)
