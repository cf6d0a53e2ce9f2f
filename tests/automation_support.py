"""Shared pieces of the automation tests: a bot whose automation may reinit replicas, pages
as Alertmanager would send them (with the fault in the simulator, or without it: a page
alone), and waiting until automation has said its last word."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from bot.actions.tracking import track_once
from bot.audit.models import AuditEntry
from bot.automation import results
from bot.automation.models import AutomationRun
from bot.runtime import Runtime
from standins.slack import Message
from tests.actions_support import ROLES, FleetUnderTest, policies
from tests.harness import BotHarness
from tests.incident_helpers import CHANNEL, batch, page, replies, roots
from tests.intake_helpers import intake_section

AUTOMATION_ROLES = {**ROLES, "automation": {"automation": True}}
ROTATION = {
    "name": "databases", "channel": "C0ONCALL1", "members": ["UALICE01", "UBOB0002"],
    "timezone": "UTC", "handoffs": ["09:00", "21:00"], "start": "2026-01-01",
}  # fmt: skip
ONCALL = ("<@UALICE01>", "<@UBOB0002>")
# Far above the default `confirm` threshold of a replica-lag runbook (16 MiB).
LAG = 512 * 1024 * 1024
_keys = itertools.count(1)


def runbook(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "name": "replica-lag",
        "match": {"alertname": "PostgresReplicationLag"},
        "action": "reinit",
        "params": {"member": "{member}"},
        "mode": "auto",
    }
    raw.update(overrides)
    return raw


def automation_harness(
    db_url: str,
    fleet: FleetUnderTest,
    *,
    runbooks: list[dict[str, Any]] | None = None,
    limits: dict[str, Any] | None = None,
    automation: dict[str, Any] | None = None,
    rules: list[dict[str, Any]] | None = None,
    **sections: Any,
) -> BotHarness:
    """alice, bob and dave are responders; automation may reinit (and nothing else).
    Without `runbooks`, the one replica-lag runbook, with `limits` if given. Every intake
    source is open, so by default each may start automation."""
    if runbooks is None:
        runbooks = [runbook(limits=limits) if limits else runbook()]
    rules = rules or [
        {"actions": ["reinit"], "roles": ["responder", "automation"]},
        {"actions": ["restart", "cancel"], "roles": ["responder"]},
    ]
    return BotHarness(
        db_url,
        roles=AUTOMATION_ROLES,
        policies=policies(rules=rules),
        fleet={"backends": [fleet.backend()]},
        runbooks=runbooks,
        automation={"feedback_window_minutes": 0, **(automation or {})},
        oncall={"rotations": [ROTATION]},
        routing={"default_oncall": "databases"},
        **{"intake": intake_section(), **sections},
    )


async def lag_page(
    rt: Runtime, service: str = "pg-orders", member: str = "pg-orders-3", **labels: str
) -> None:
    """A fresh replica-lag page (a new alert each time: its own dedup key)."""
    p = page(f"lag-{next(_keys)}", service=service, member=member, severity="warning", **labels)
    assert rt.hooks.page_sink is not None
    await rt.hooks.page_sink(rt, batch(p))


async def lagging_page(
    fleet: FleetUnderTest,
    rt: Runtime,
    service: str = "pg-orders",
    member: str = "pg-orders-3",
    **labels: str,
) -> None:
    """The replica far behind in the fleet, and then the page that says so."""
    fleet.sim.degrade(service, member, lag_bytes=LAG)
    await lag_page(rt, service, member, **labels)


async def runs(rt: Runtime) -> list[AutomationRun]:
    async with rt.sessions() as session:
        return list(await session.scalars(select(AutomationRun).order_by(AutomationRun.id)))


async def settle(
    h: BotHarness, done: Callable[[list[AutomationRun]], bool], within: float = 30.0
) -> list[AutomationRun]:
    """Drive follow-ups, tracking and automation's results until `done(runs)` holds."""
    rt = h.bot.runtime

    async def probe_once() -> list[AutomationRun] | None:
        await rt.background.drain()
        await track_once(rt)
        await results.settle(rt)
        rt.wake_outbox()
        found = await runs(rt)
        return found if done(found) else None

    for _ in range(int(within * 10)):
        found = await probe_once()
        if found is not None:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"automation did not settle: {[(r.id, r.state) for r in await runs(rt)]}")


def finished(count: int) -> Callable[[list[AutomationRun]], bool]:
    """`count` runs decided, none still starting or running."""
    return lambda found: (
        len(found) >= count and all(r.state not in ("starting", "running") for r in found)
    )


async def thread_texts(h: BotHarness, containing: str, within: float = 10.0) -> list[str]:
    """The replies of the (first) incident thread, once one contains `containing`."""

    def probe() -> list[str] | None:
        rooted = roots(h.state)
        if not rooted:
            return None
        texts = [m.text for m in replies(h.state, rooted[0])]
        return texts if any(containing in t for t in texts) else None

    return await h.wait_for(probe, within=within)


def thread_messages(h: BotHarness) -> list[Message]:
    return replies(h.state, roots(h.state)[0])


async def decisions(rt: Runtime) -> list[AuditEntry]:
    async with rt.sessions() as session:
        return list(
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "automation.decided")
                .order_by(AuditEntry.seq)
            )
        )


def params_of(entry: AuditEntry) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(entry.params)
    return found


async def said_times(h: BotHarness, phrase: str, times: int, within: float = 10.0) -> list[str]:
    """The incident thread's replies once `phrase` is in `times` of them."""

    def probe() -> list[str] | None:
        rooted = roots(h.state)
        texts = [m.text for m in replies(h.state, rooted[0])] if rooted else []
        return texts if sum(phrase in t for t in texts) >= times else None

    return await h.wait_for(probe, within=within)


def limited_to(count: int) -> Callable[[list[AutomationRun]], bool]:
    """`count` runs decided and the last one decided as more than `starting`."""
    return lambda found: len(found) >= count and found[-1].state != "starting"


def opening_roots(h: BotHarness) -> list[str]:
    """The incident roots' texts as first posted (later edits may add who took over)."""
    posts = h.state.calls("chat.postMessage")
    return [
        str(c.payload.get("text", ""))
        for c in posts
        if c.payload.get("channel") == CHANNEL and not c.payload.get("thread_ts")
    ]


def mentions_someone(text: str) -> bool:
    return "<@" in text or "<!subteam^" in text
