"""How automation plugs into the bot: the question ingest asks before it mentions anyone,
the hook after ingest, and the sweeps (on the scheduler leader) that report how runs
ended, at the pace actions are tracked, and decide pages a dead replica left."""

from __future__ import annotations

from bot.automation import missed, results, runner
from bot.parts import AppParts, Job

MISSED_EVERY_SECONDS = 30


def install(parts: AppParts) -> None:
    parts.hooks.page_followups.append(runner.on_new_pages)
    parts.hooks.handled_automatically = runner.handled_automatically
    tracking = parts.config.policies.tracking_interval_seconds
    parts.jobs.append(Job("automation-results", tracking, results.settle))
    parts.jobs.append(Job("automation-missed", MISSED_EVERY_SECONDS, missed.decide_missed))
