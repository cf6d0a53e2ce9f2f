"""Two `watchkeeper serve` processes on one PostgreSQL database behave as one bot.

Real OS processes throughout: the replicas, the Slack stand-in and the fleet simulator
each run on their own port; the test talks to them over HTTP and reads the database.
The scheduler lease is 2 s (renewed every 0.5 s), so a dead leader's jobs move within
about 2.5 s; the figures measured are printed (`-s`) for docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.actions.models import ActionRequest
from bot.audit.models import AuditEntry
from bot.db.models import SlackRequest
from bot.incidents.models import Incident, PageRecord, Storm
from bot.oncall.models import Handoff
from tests.bot_process import (
    AM_TOKEN,
    CHANNEL,
    Replicas,
    count,
    eventually,
    figure,
    leader,
    next_job_runs,
    outbox_delivered,
)
from tests.intake_helpers import captured
from tests.round_robin_proxy import RoundRobinProxy

pytestmark = pytest.mark.integration

ROTATION_CHANNEL = "C0HANDOF1"
ALICE, BOB = "UALICE01", "UBOB0002"
LEASE_SECONDS, RENEW_SECONDS, CHECK_SECONDS = 2.0, 0.5, 1.0
DUPLICATE = "duplicate Slack delivery"  # what a replica logs as it turns a retry away


# -- 1. the leader lease and handoffs ------------------------------------------------------


def rotation_near(
    now: datetime, first_in: float, then_every: float
) -> tuple[dict[str, Any], list[datetime]]:
    """A rotation whose next two handoffs come `first_in` and `first_in + then_every`
    seconds from now, in a zone where it is about noon (the shifts stay within one day)."""
    offset = 12 - now.hour
    zone = ZoneInfo(f"Etc/GMT{-offset:+d}" if offset else "UTC")  # Etc/GMT-5 is UTC+5
    local = now.astimezone(zone).replace(microsecond=0)
    times = [
        local - timedelta(minutes=1),  # the shift under way: alice's, the rotation's first
        local + timedelta(seconds=first_in),
        local + timedelta(seconds=first_in + then_every),
    ]
    rotation = {
        "name": "databases",
        "channel": ROTATION_CHANNEL,
        "members": [ALICE, BOB],
        "timezone": zone.key,
        "handoffs": [t.strftime("%H:%M:%S") for t in times],
        "start": local.date().isoformat(),
    }
    return rotation, [t.astimezone(UTC) for t in times[1:]]


async def test_one_handoff_per_shift_and_a_killed_leader_is_replaced(
    pg_url: str, db: AsyncEngine, replicas: Replicas
) -> None:
    rotation, (first, second) = rotation_near(datetime.now(UTC), first_in=7, then_every=6)
    config = replicas.config(
        pg_url, oncall={"rotations": [rotation], "check_seconds": CHECK_SECONDS}
    )
    a, b = replicas.make("replica-a", config), replicas.make("replica-b", config)
    await replicas.start(a, b)
    standin = replicas.standin

    async def posted(channel: str, n: int) -> bool:
        return len(await standin.posts(channel)) >= n

    # The first shift change: the rotation channel and bob (incoming) hear of it once.
    await eventually(lambda: posted(BOB, 1), within=20, what="the first handoff")
    first_leader = await leader(db)
    assert first_leader in (a.replica, b.replica)
    dead, survivor = (a, b) if first_leader == a.replica else (b, a)

    # The leader dies without a word; the other takes the lease once it has expired.
    dead.kill()
    killed = time.monotonic()

    async def taken_over() -> bool:
        return await leader(db) == survivor.replica

    await eventually(taken_over, within=LEASE_SECONDS + RENEW_SECONDS + 3, what="the takeover")
    takeover = time.monotonic() - killed
    figure("scheduler takeover after SIGKILL of the leader", takeover, "s")
    assert takeover <= LEASE_SECONDS + RENEW_SECONDS + 1.0

    # The next shift change is posted by the survivor, once, on time.
    await eventually(lambda: posted(ALICE, 1), within=20, what="the second handoff")
    # A duplicate would come from the survivor's later checks: two of them have run, and
    # what they queued has gone out.
    await next_job_runs(survivor, "oncall-handoffs", runs=2)
    await outbox_delivered(db)
    assert len(await standin.posts(ROTATION_CHANNEL)) == 2
    assert len(await standin.posts(BOB)) == 1 and len(await standin.posts(ALICE)) == 1
    async with db.connect() as conn:
        handoffs = (await conn.execute(select(Handoff).order_by(Handoff.shift_start))).all()
    assert [(h.incoming, h.shift_start) for h in handoffs] == [(BOB, first), (ALICE, second)]
    assert not any(h.late for h in handoffs)
    delays = [(h.posted_at - h.shift_start).total_seconds() for h in handoffs]
    figure("second handoff posted after its time (by the new leader)", delays[1], "s")
    assert delays[1] <= CHECK_SECONDS + 1.0
    assert await count(db, AuditEntry, AuditEntry.action == "oncall.handoff") == 2


# -- 2. the same Slack delivery twice, and a storm split between replicas ------------------

STORM_CHANNEL = "C0STORM01"
REGIONS = ("eu-west-1", "us-east-1")
SERVICES_PER_REGION = 8


def firing(region: str, n: int) -> dict[str, Any]:
    """One Alertmanager delivery, shaped like the captured 0.25 one, for one service."""
    _, body = captured("firing-single")
    service = f"pg-storm-{region}-{n}"
    labels = {
        **body["alerts"][0]["labels"],
        "service": service,
        "cluster": service,
        "member": f"{service}-0",
        "region": region,
    }
    alert = {
        **body["alerts"][0],
        "labels": labels,
        "fingerprint": hashlib.sha256(service.encode()).hexdigest()[:16],
    }
    return {
        **body,
        "alerts": [alert],
        "commonLabels": labels,
        "groupLabels": {"alertname": labels["alertname"], "cluster": service},
    }


async def test_two_replicas_behind_one_address_act_as_one_bot(
    pg_url: str, db: AsyncEngine, replicas: Replicas
) -> None:
    config = replicas.config(pg_url, channels={"default": STORM_CHANNEL})
    a, b = replicas.make("replica-a", config), replicas.make("replica-b", config)
    await replicas.start(a, b)
    standin = replicas.standin
    seen = await standin.last_event()
    duplicates = sum(bot.log_count(DUPLICATE) for bot in (a, b))

    # Slack delivers one slash command to both replicas (a retry landing elsewhere).
    to_a, to_b = a.sender(standin), b.sender(standin)
    body = to_a.command_body(
        "/fleet", "restart pg-orders", user_id=ALICE, user_name="alice", channel_id=CHANNEL
    )
    headers = to_a.signed_headers(body, "application/x-www-form-urlencoded")
    async with httpx.AsyncClient() as http:
        answers = await asyncio.gather(
            *(http.post(bot.url + "/slack/events", content=body, headers=headers) for bot in (a, b))
        )
    assert [r.status_code for r in answers] == [200, 200]
    # ... and one app_mention event twice, under one event id.
    mention = {
        "type": "app_mention",
        "user": ALICE,
        "text": "<@U0BOT0001> help",
        "ts": f"{time.time():.6f}",
        "channel": CHANNEL,
    }
    for sender in (to_a, to_b):
        assert (await sender.event(mention, event_id="EvTWICE0001")).status_code == 200

    async def answered() -> bool:
        return bool(await standin.responses(ALICE, since=seen))

    await eventually(answered, what="the answer to the command")

    async def both_duplicates_ignored() -> bool:  # the command's and the mention's
        return sum(bot.log_count(DUPLICATE) for bot in (a, b)) >= duplicates + 2

    await eventually(both_duplicates_ignored, what="the duplicates turned away")
    await outbox_delivered(db)  # what the first deliveries queued has gone out
    assert len(await standin.responses(ALICE, since=seen)) == 1
    ephemerals = [
        e for e in await standin.events(CHANNEL) if e["kind"] == "ephemeral" and e["seq"] > seen
    ]
    assert len(ephemerals) == 1
    assert await count(db, ActionRequest) == 1
    assert await count(db, SlackRequest) == 2  # one trigger id, one event id
    async with db.connect() as conn:
        audited = (
            await conn.execute(select(AuditEntry.action).where(AuditEntry.target == "pg-orders"))
        ).all()
    assert audited and len(audited) == len(set(audited)), audited  # no step recorded twice

    # A storm: every service of two regions fires, each delivery sent twice (Alertmanager
    # retries), through one address in front of both replicas, one connection a request.
    proxy = RoundRobinProxy([a.port, b.port])
    deliveries = [firing(r, n) for r in REGIONS for n in range(SERVICES_PER_REGION)] * 2
    lanes = asyncio.Semaphore(8)
    limits = httpx.Limits(max_keepalive_connections=0)
    async with proxy, httpx.AsyncClient(limits=limits, timeout=10) as http:

        async def deliver(payload: dict[str, Any]) -> int:
            async with lanes:
                answer = await http.post(
                    proxy.url + "/hooks/alertmanager",
                    json=payload,
                    headers={"Authorization": f"Bearer {AM_TOKEN}"},
                )
                return answer.status_code

        statuses = await asyncio.gather(*(deliver(d) for d in deliveries))
    assert set(statuses) == {200}
    assert min(proxy.connections[a.port], proxy.connections[b.port]) >= len(deliveries) // 4

    incidents = len(REGIONS) * SERVICES_PER_REGION
    assert await count(db, PageRecord) == incidents  # each page stored once
    assert await count(db, Incident) == incidents  # one incident per alertname and service

    async def storms() -> bool:  # the leader's storm sweep runs every 5 s
        return await count(db, Storm) >= len(REGIONS)

    await eventually(storms, what="the storms")
    threaded = await count(db, Incident, Incident.has_thread.is_(True))

    async def roots() -> list[dict[str, Any]]:
        posts = await standin.posts(STORM_CHANNEL)
        return [p for p in posts if not p["payload"].get("thread_ts")]

    expected_roots = threaded + len(REGIONS)  # the incidents keeping a thread, the storms
    await eventually(lambda: _at_least(roots, expected_roots), what="the thread roots")
    # More roots could only come from the leader's storm sweep: one more run of it, and
    # what it queued has gone out.
    await next_job_runs(a if await leader(db) == a.replica else b, "incidents-storms")
    await outbox_delivered(db)
    assert len(await roots()) == expected_roots
    assert await count(db, Storm) == len(REGIONS)  # one storm per region, not one per replica
    figure("storm deliveries sent to replica a", proxy.connections[a.port], "connections")
    figure("storm deliveries sent to replica b", proxy.connections[b.port], "connections")


async def _at_least(probe: Any, n: int) -> bool:
    return len(await probe()) >= n
