"""Guarded repair actions: catalog, policies, guard chain, the flow through Slack, exactly-once
execution, tracking, post-check and audit (docs/actions.md, docs/architecture.md).

This package's `__init__` imports nothing on purpose: `bot.config` imports
`bot.actions.policy`, and a heavier import here would make that a cycle.
"""
