"""How the guarded actions plug into the bot: tracking, expiry and approval reminders on
the scheduler leader, reconciliation at start on every replica, and their part of the
on-call handoff."""

from __future__ import annotations

from bot.actions.approvers import remind_due
from bot.actions.handoff_sections import locks_section, maintenance_section, needs_review_section
from bot.actions.tracking import expire_stale, reconcile_at_start, track_once
from bot.parts import AppParts, Job

EXPIRE_EVERY_SECONDS = 30
# How often the leader looks for approval requests half-way through their window.
REMIND_EVERY_SECONDS = 30


def install(parts: AppParts) -> None:
    tracking = parts.config.policies.tracking_interval_seconds
    parts.jobs.append(Job("actions-track", tracking, track_once))
    parts.jobs.append(Job("actions-expire", EXPIRE_EVERY_SECONDS, expire_stale))
    parts.jobs.append(Job("actions-remind", REMIND_EVERY_SECONDS, remind_due))
    # Actions left running by a previous process are looked up, never re-run.
    parts.at_start.append(reconcile_at_start)
    parts.handoff_sections.extend((locks_section, maintenance_section, needs_review_section))
