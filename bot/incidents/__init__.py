"""Incidents: pages stored and deduplicated, grouped into incidents, routed to channels,
kept current as Slack threads, acknowledged, silenced, escalated, folded into storms.

Kept import-light on purpose: `bot.config` imports `bot.incidents.config`, so this package
must not pull in the runtime. See docs/incidents.md for the whole picture.
"""
