"""The incident core's clients of outside systems (Alertmanager's API, PagerDuty Events),
built from `app.yaml` when needed, on the runtime's transports (tests swap them there:
`rt.transports.alertmanager = httpx.MockTransport(handler)`).

The clients themselves live in `integrations/` and never import the core.
"""

from __future__ import annotations

from bot.runtime import Runtime
from integrations.alertmanager import AlertmanagerClient
from integrations.pagerduty import PagerDutyEvents


def alertmanager(rt: Runtime) -> AlertmanagerClient | None:
    """A client of Alertmanager's API v2, or None when `silences.alertmanager_url` is unset."""
    cfg = rt.config.silences
    if cfg.alertmanager_url is None:
        return None
    return AlertmanagerClient(
        str(cfg.alertmanager_url),
        token=cfg.bearer_token,
        username=cfg.username,
        password=cfg.password,
        transport=rt.transports.alertmanager,
    )


def pagerduty(rt: Runtime) -> PagerDutyEvents | None:
    # `enabled` is only the routes' default: a route may page with it off.
    cfg = rt.config.escalation.pagerduty
    if cfg.routing_key is None or not cfg.routing_key.get_secret_value():
        return None
    return PagerDutyEvents(
        cfg.routing_key, base_url=str(cfg.events_url), transport=rt.transports.pagerduty
    )
