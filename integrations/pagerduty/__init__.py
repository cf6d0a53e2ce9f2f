"""PagerDuty: v3 webhook intake (signed), and the Events API v2 client for escalation."""

from integrations.pagerduty.errors import (
    PagerDutyError,
    PagerDutyRateLimited,
    PagerDutyRejected,
    PagerDutyUnavailable,
)
from integrations.pagerduty.events import EVENTS_URL, PagerDutyEvents
from integrations.pagerduty.parse import SOURCE, parse_webhook
from integrations.pagerduty.signature import HEADER as SIGNATURE_HEADER
from integrations.pagerduty.signature import sign, verify

__all__ = [
    "EVENTS_URL",
    "SIGNATURE_HEADER",
    "SOURCE",
    "PagerDutyError",
    "PagerDutyEvents",
    "PagerDutyRateLimited",
    "PagerDutyRejected",
    "PagerDutyUnavailable",
    "parse_webhook",
    "sign",
    "verify",
]
