"""How campaigns plug in: the loop every replica runs, and their part of the handoff."""

from __future__ import annotations

from bot.campaigns.handoff import campaigns_section
from bot.campaigns.runner import run_campaigns
from bot.parts import AppParts


def install(parts: AppParts) -> None:
    if not parts.config.campaigns.enabled:
        return
    parts.at_start.append(run_campaigns)
    parts.handoff_sections.append(campaigns_section)
