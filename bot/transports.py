"""The transports the bot's clients of outside systems use (Alertmanager's API, PagerDuty
Events): None means the real network. Tests swap one for an `httpx.MockTransport` on the
runtime they built, never through a module global.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx


@dataclass
class OutsideTransports:
    alertmanager: httpx.AsyncBaseTransport | None = None
    pagerduty: httpx.AsyncBaseTransport | None = None
