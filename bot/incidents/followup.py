"""After ingest commits: the fleet's view of each new incident's service, then the root
edited in place to show it. Kept off the webhook path on purpose: a slow or failing
control plane must never slow page intake down.

`after_ingest` starts the work as a task; the periodic sweep (`refresh_due`) catches
anything a dead replica left undone, through `fleet_due_at`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from sqlalchemy import select

from bot.db.unit_of_work import writing
from bot.fleet.snapshot import same_state, snapshot_of, unreadable
from bot.incidents.models import OPEN_STATES, Incident
from bot.incidents.thread import ThreadWriter
from bot.runtime import Runtime
from integrations.fleet.errors import FleetError, ServiceNotFound

log = logging.getLogger(__name__)

FLEET_TIMEOUT_SECONDS = 5.0
PARALLEL_READS = 8
ANNOUNCE_SECONDS = 1.0
ANNOUNCE_CHUNK = 8
# Open incidents whose fleet state the watch re-reads per run, newest first.
WATCHED = 200


def after_ingest(
    rt: Runtime, incident_ids: list[int], *, pagerduty: bool = False, announce: bool = False
) -> None:
    if incident_ids:
        rt.background.spawn(refresh_fleet_state(rt, incident_ids), "fleet state refresh")
    if pagerduty:
        kick_pagerduty(rt)
    if announce:
        # A burst of deliveries asks many times; Slack takes about one message a second
        # per channel, so rendering faster only competes with ingest for the database.
        rt.background.coalesce("announcer", lambda: announce_deferred(rt), ANNOUNCE_SECONDS)


def kick_pagerduty(rt: Runtime) -> None:
    """Send the PagerDuty events a transaction just queued (the sweep retries failures)."""
    from bot.incidents.escalation import deliver_pagerduty  # escalation imports this module

    rt.background.spawn(deliver_pagerduty(rt), "PagerDuty delivery")


async def announce_deferred(rt: Runtime, limit: int = 500) -> int:
    """Say what ingest deferred: alert lines as replies, roots and storm roots re-rendered.

    A few incidents per transaction, rows another transaction holds skipped (SKIP LOCKED,
    taken next run): ingest, which locks the same incidents, never waits long on us. The
    sweep runs this too, so nothing deferred is left behind by a dead replica.
    """
    from bot.incidents.storms import show_stale  # storms imports thread, as we do

    async with rt.sessions() as session:
        stale = list(
            await session.scalars(
                select(Incident.id)
                .where(Incident.root_stale.is_(True))
                .order_by(Incident.id)
                .limit(limit)
            )
        )
    count = 0
    for start in range(0, len(stale), ANNOUNCE_CHUNK):
        async with writing(rt.sessions, reads_decide=True) as session:
            w = ThreadWriter(session, rt)
            incidents = await session.scalars(
                select(Incident)
                .where(
                    Incident.id.in_(stale[start : start + ANNOUNCE_CHUNK]),
                    Incident.root_stale.is_(True),
                )
                .order_by(Incident.id)
                .with_for_update(skip_locked=True)
            )
            for incident in incidents:
                await w.flush_unsent(incident)
                await w.refresh_incident(incident)
                count += 1
            await w.finish()
    async with writing(rt.sessions, reads_decide=True) as session:
        w = ThreadWriter(session, rt)
        count += await show_stale(w)
        await w.finish()
    rt.wake_outbox()
    return count


async def snapshot(rt: Runtime, service: str) -> dict[str, Any]:
    """The service as the root shows it: health, primary, replicas with lag, and when."""
    now = rt.clock()
    try:
        found = await asyncio.wait_for(rt.fleet.get_service(service), FLEET_TIMEOUT_SECONDS)
    except ServiceNotFound:
        return unreadable("not a service of the fleet", now)
    except TimeoutError:
        return unreadable("the fleet API did not answer in time", now)
    except FleetError as exc:
        return unreadable(type(exc).__name__, now)
    return snapshot_of(found, now)


async def refresh_fleet_state(
    rt: Runtime, incident_ids: list[int], *, only_changed: bool = False
) -> int:
    """Fetch and show the fleet state of these incidents; returns how many were updated.
    `only_changed`: a root whose fleet state is the same as shown is left alone (the
    fleet watch), so an unchanged fleet costs no Slack call."""
    async with rt.sessions() as session:
        rows = await session.execute(
            select(Incident.id, Incident.service).where(
                Incident.id.in_(incident_ids), Incident.service.is_not(None)
            )
        )
        services = {int(i): str(s) for i, s in rows}
    if not services:
        return 0
    limit = asyncio.Semaphore(PARALLEL_READS)

    async def read(name: str) -> tuple[str, dict[str, Any]]:
        async with limit:
            return name, await snapshot(rt, name)

    views = dict(await asyncio.gather(*(read(n) for n in set(services.values()))))
    async with writing(rt.sessions, reads_decide=True) as session:
        w = ThreadWriter(session, rt)
        incidents = await session.scalars(
            select(Incident)
            .where(Incident.id.in_(list(services)))
            .order_by(Incident.id)
            .with_for_update()
        )
        count = 0
        for incident in incidents:
            view = views[services[incident.id]]
            if only_changed and (
                incident.fleet_due_at is not None or same_state(incident.fleet_state, view)
            ):
                continue  # unchanged, or a first read or resolution read is under way
            incident.fleet_state = json.dumps(view, sort_keys=True)
            incident.fleet_due_at = None
            if view.get("ok"):
                incident.region = incident.region or view.get("region")
                incident.kind = incident.kind or view.get("kind")
            await w.refresh_incident(incident)
            count += 1
        await w.finish()
    rt.wake_outbox()
    return count


async def watch_open(rt: Runtime, limit: int = WATCHED) -> int:
    """The fleet watch (a leader job): re-read the services of open incidents and edit
    the roots whose fleet state changed. Each edit supersedes the root's edit still
    waiting in the outbox (bot.incidents.thread), so one update per root is pending."""
    async with rt.sessions() as session:
        ids = list(
            await session.scalars(
                select(Incident.id)
                .where(
                    Incident.status.in_(OPEN_STATES),
                    Incident.service.is_not(None),
                    Incident.has_thread.is_(True),
                )
                .order_by(Incident.id.desc())
                .limit(limit)
            )
        )
    return await refresh_fleet_state(rt, ids, only_changed=True) if ids else 0


def after_resolve(rt: Runtime, incident_ids: list[int]) -> None:
    """Read the fleet as it is at resolution (the sweep does it, through `fleet_due_at`,
    if this replica dies first)."""
    if incident_ids:
        rt.background.spawn(refresh_fleet_state(rt, incident_ids), "fleet state at resolution")


async def refresh_due(rt: Runtime, limit: int = 50) -> int:
    """The sweep's part: incidents whose fleet view is due and was not fetched."""
    async with rt.sessions() as session:
        ids = list(
            await session.scalars(
                select(Incident.id)
                .where(Incident.fleet_due_at <= rt.clock())
                .order_by(Incident.fleet_due_at)
                .limit(limit)
            )
        )
    return await refresh_fleet_state(rt, ids) if ids else 0
