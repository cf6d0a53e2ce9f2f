"""User-facing strings of the bot's heartbeat (posted to `channels.ops`, sent to PagerDuty)."""

from __future__ import annotations


def health_problem(detail: str) -> str:
    return f":rotating_light: Watchkeeper is unwell: {detail}."


def health_recovered(detail: str) -> str:
    return f":white_check_mark: Recovered: {detail}."


def health_page_summary(detail: str) -> str:
    # PagerDuty's summary: read on a phone's lock screen, so it names the bot first.
    return f"Watchkeeper: {detail}"
