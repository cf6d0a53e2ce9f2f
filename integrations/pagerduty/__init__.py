"""PagerDuty: v3 webhook intake (signed), the Events API v2 client for escalation, and the
REST API v2 on-call list for rotations that follow a PagerDuty schedule."""

from integrations.pagerduty.errors import (
    PagerDutyError,
    PagerDutyRateLimited,
    PagerDutyRejected,
    PagerDutyUnavailable,
)
from integrations.pagerduty.events import EVENTS_URL, PagerDutyEvents
from integrations.pagerduty.models import Oncall, OncallUser
from integrations.pagerduty.oncalls import REST_URL, PagerDutyOncalls
from integrations.pagerduty.parse import SOURCE, parse_webhook
from integrations.pagerduty.signature import HEADER as SIGNATURE_HEADER
from integrations.pagerduty.signature import sign, verify

__all__ = [
    "EVENTS_URL",
    "REST_URL",
    "SIGNATURE_HEADER",
    "SOURCE",
    "Oncall",
    "OncallUser",
    "PagerDutyError",
    "PagerDutyEvents",
    "PagerDutyOncalls",
    "PagerDutyRateLimited",
    "PagerDutyRejected",
    "PagerDutyUnavailable",
    "parse_webhook",
    "sign",
    "verify",
]
