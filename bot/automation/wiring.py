"""Plugging automation into the running bot: the question ingest asks before it mentions
anyone, the hook after ingest, and the sweeps (on the scheduler leader) that report how
runs ended, at the pace actions are tracked, and decide pages a dead replica left."""

from __future__ import annotations

from functools import partial

from bot.automation import missed, results, runner
from bot.runtime import Runtime

MISSED_EVERY_SECONDS = 30


def install(rt: Runtime) -> None:
    rt.page_followups.append(runner.on_new_pages)
    rt.handled_automatically = partial(runner.handled_automatically, rt)

    async def report_results() -> None:
        await results.settle(rt)

    rt.scheduler.every(
        "automation-results", rt.config.policies.tracking_interval_seconds, report_results
    )

    async def decide_missed() -> None:
        await missed.decide_missed(rt)

    rt.scheduler.every("automation-missed", MISSED_EVERY_SECONDS, decide_missed)
