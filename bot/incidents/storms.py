"""Alert storms: many incidents sharing a label (say `region`) within a short window fold
into one storm thread with live counters, instead of one thread each.

The first `threshold - 1` incidents of a (channel, label value) within `window_seconds`
keep their own threads; from the threshold on, new incidents join the storm and get no
thread of their own. The storm's root is edited in place (edits coalesce in the outbox),
and a digest reply lists the incidents folded since the last one, at most every
`digest_seconds`, so the channel stays at Slack's pace however many alerts arrive.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import distinct, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages
from bot.incidents.config import StormsConfig
from bot.incidents.grouping import hash_key
from bot.incidents.incident_blocks import SEVERITY_ICON, StormCounts, storm_root
from bot.incidents.ingest_plan_types import StormPair, StormStart
from bot.incidents.models import Incident, Storm
from bot.incidents.opening import Mentions
from bot.incidents.routing import destination_named
from bot.incidents.thread import ThreadWriter
from bot.mentions import code
from bot.outbox import Message

DIGEST_LINES = 15


def open_key(channel: str, storm_key: str) -> str:
    return hash_key(f"{channel}|{storm_key}")


async def _one_decision_at_a_time(session: AsyncSession, keys: list[str]) -> None:
    """Concurrent ingests (parallel deliveries, other replicas) see each other's incidents
    only once committed, so a burst sent in parallel never reached the threshold. On
    PostgreSQL a transaction-scoped advisory lock per storm key makes the count and the
    decision one at a time (keys sorted: no deadlock); SQLite already writes one at a time."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return
    for key in keys:
        lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        await session.execute(select(func.pg_advisory_xact_lock(lock_id)))


async def lock_for_delivery(
    session: AsyncSession, pairs: frozenset[StormPair], *, now: datetime, config: StormsConfig
) -> tuple[list[Storm], dict[StormPair, int]]:
    """The active storms of a delivery's new incidents' (channel, storm key) pairs, locked,
    and per pair how many incidents of the window are in no storm yet."""
    if not pairs:
        return [], {}
    await _one_decision_at_a_time(session, sorted(open_key(c, k) for c, k in pairs))
    active = list(
        await session.scalars(
            select(Storm)
            .where(Storm.open_key.in_([open_key(c, k) for c, k in pairs]))
            .order_by(Storm.id)
            .with_for_update()
        )
    )
    window_start = now - timedelta(seconds=config.window_seconds)
    counted = await session.execute(
        select(Incident.channel, Incident.storm_key, func.count())
        .where(
            Incident.storm_key.in_([k for _, k in pairs]),
            Incident.opened_at >= window_start,
            Incident.storm_id.is_(None),
        )
        .group_by(Incident.channel, Incident.storm_key)
    )
    recent = {(str(channel), str(key)): int(count) for channel, key, count in counted}
    return active, recent


async def start(w: ThreadWriter, plan: StormStart, now: datetime) -> Storm:
    """A new storm's row, with the incidents of the window that kept their own threads."""
    # Many services failing at once is never automation's to handle quietly: the storm
    # mentions its route's people even when its first incident opened without them.
    route = destination_named(w.rt.config, plan.route)
    mentions = await Mentions(w.rt, w.session, now).text(route)
    storm = Storm(
        channel=plan.channel, storm_key=plan.storm_key,
        open_key=open_key(plan.channel, plan.storm_key), status="active", started_at=now,
        last_incident_at=now, incident_count=plan.earlier, stale=False, page_count=0,
        mentions=mentions, digest_upto_id=0, next_escalation_at=plan.next_escalation_at,
    )  # fmt: skip
    w.session.add(storm)
    await w.session.flush()  # the UNIQUE open_key claim; a concurrent storm makes us retry
    # They count in (and are acked by) the storm.
    await w.session.execute(
        update(Incident)
        .where(
            Incident.channel == plan.channel,
            Incident.storm_key == plan.storm_key,
            Incident.opened_at >= plan.window_start,
            Incident.storm_id.is_(None),
        )
        .values(storm_id=storm.id)
    )
    linked = await w.session.scalar(
        select(func.sum(Incident.page_count)).where(Incident.storm_id == storm.id)
    )
    storm.page_count = int(linked or 0)
    return storm


def close(storm: Storm, now: datetime) -> None:
    storm.status = "closed"
    storm.open_key = None
    storm.closed_at = now


async def counts(w: ThreadWriter, storm: Storm) -> StormCounts:
    session = w.session
    by_status = {
        str(status): int(n)
        for status, n in await session.execute(
            select(Incident.status, func.count())
            .where(Incident.storm_id == storm.id)
            .group_by(Incident.status)
        )
    }
    services = await session.scalar(
        select(func.count(distinct(Incident.service))).where(Incident.storm_id == storm.id)
    )
    top = await session.execute(
        select(Incident.title, func.count().label("n"))
        .where(Incident.storm_id == storm.id)
        .group_by(Incident.title)
        .order_by(func.count().desc(), Incident.title)
        .limit(5)
    )
    return StormCounts(by_status, int(services or 0), [(str(t), int(n)) for t, n in top])


async def show(w: ThreadWriter, storm: Storm, *, new: bool = False) -> None:
    """Post the storm's root, or edit it in place with the current counters."""
    storm.stale = False
    message = storm_root(storm, await counts(w, storm), now=w.rt.clock(), with_mentions=True)
    if new:
        w.post_root(storm, message)
    else:
        await w.update_root(storm, message)


async def digest(w: ThreadWriter, storm: Storm, now: datetime) -> bool:
    """A reply listing the incidents folded since the last digest; False when none."""
    session = w.session
    newest = await session.scalar(
        select(func.max(Incident.id)).where(
            Incident.storm_id == storm.id, Incident.id > storm.digest_upto_id
        )
    )
    if newest is None:
        return False
    total = await session.scalar(
        select(func.count()).where(
            Incident.storm_id == storm.id,
            Incident.id > storm.digest_upto_id,
            Incident.id <= newest,
        )
    )
    shown = await session.scalars(
        select(Incident)
        .where(Incident.storm_id == storm.id, Incident.id > storm.digest_upto_id)
        .order_by(Incident.id)
        .limit(DIGEST_LINES)
    )
    lines = [
        f"{SEVERITY_ICON.get(i.severity, '')} #{i.id} {code(i.title)}"
        + (f" on {code(i.service)}" if i.service else "")
        for i in shown
    ]
    more = int(total or 0) - len(lines)
    body = "\n".join(lines) + (f"\n… and {more:,} more" if more > 0 else "")
    title = messages.storm_digest_title(int(total or 0))
    w.reply_to(storm.channel, storm.root_key, Message(text=f"{title}\n{body}"))
    storm.digest_upto_id = int(newest)
    storm.digest_at = now
    return True


async def show_stale(w: ThreadWriter) -> int:
    """Re-count and edit the roots of the storms ingest marked stale."""
    stale = list(
        await w.session.scalars(
            select(Storm)
            .where(Storm.stale.is_(True))
            .order_by(Storm.id)
            .with_for_update(skip_locked=True)
        )
    )
    for storm in stale:
        await show(w, storm)
    return len(stale)


async def sweep(w: ThreadWriter, now: datetime) -> int:
    """Close storms gone quiet and post the digests that are due; returns replies posted."""
    await show_stale(w)
    config = w.rt.config.storms
    quiet = await w.session.scalars(
        select(Storm)
        .where(
            Storm.status == "active",
            Storm.last_incident_at < now - timedelta(seconds=config.quiet_seconds),
        )
        .order_by(Storm.id)
        .with_for_update(skip_locked=True)
    )
    for storm in quiet:
        close(storm, now)
        await digest(w, storm, now)
        await show(w, storm)
    due = await w.session.scalars(
        select(Storm)
        .where(
            Storm.status == "active",
            or_(
                Storm.digest_at.is_(None),
                Storm.digest_at <= now - timedelta(seconds=config.digest_seconds),
            ),
        )
        .order_by(Storm.id)
        .with_for_update(skip_locked=True)
    )
    posted = 0
    for storm in due:
        posted += await digest(w, storm, now)
    return posted
