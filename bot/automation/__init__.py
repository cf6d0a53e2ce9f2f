"""Bounded auto-remediation: runbooks that fix known pages through the guarded flow, as
the actor `watchkeeper:automation`, within limits, under a kill switch (docs/automation.md).

    page committed ─► runner (first matching runbook) ─► decide (limits, switch, mode)
        ├─ suggest / dry-run / paused / limited / feedback → said in the thread, audited
        └─ auto → bot.actions.flow.submit ─► guards, lock, execute, track, post-check
                         └─► results: fixed, or failed → on-call mentioned, PagerDuty
"""
