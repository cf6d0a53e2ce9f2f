"""How on-call plugs into the bot: handoffs posted on the scheduler leader, and every
replica keeping its PagerDuty schedule cache warm."""

from __future__ import annotations

from bot.oncall.handoff_posting import post_due_handoffs
from bot.parts import AppParts, Job
from bot.runtime import Runtime


def install(parts: AppParts) -> None:
    oncall = parts.config.oncall
    if not oncall.rotations:
        return
    parts.jobs.append(Job("oncall-handoffs", oncall.check_seconds, post_due_handoffs))
    if any(r.from_pagerduty for r in oncall.rotations):
        parts.at_start.append(keep_pagerduty_warm)


async def keep_pagerduty_warm(rt: Runtime) -> None:
    rotations = [r for r in rt.config.oncall.rotations if r.from_pagerduty]
    await rt.rosters.pagerduty.keep_warm(rotations, rt.clock)
