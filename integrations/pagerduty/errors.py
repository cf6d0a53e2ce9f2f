"""Errors of the PagerDuty Events API v2 client.

    PagerDutyError              anything that went wrong sending an event
    ├── PagerDutyRejected       PagerDuty refused the event (400: invalid event, bad key)
    └── PagerDutyUnavailable    no answer we can trust: refused, timed out, 5xx
        └── PagerDutyRateLimited    429; `retry_after` seconds when PagerDuty said

None of them carries the routing key.
"""

from __future__ import annotations


class PagerDutyError(Exception):
    pass


class PagerDutyRejected(PagerDutyError):
    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"PagerDuty refused the event ({status}): {reason}")


class PagerDutyUnavailable(PagerDutyError):
    pass


class PagerDutyRateLimited(PagerDutyUnavailable):
    def __init__(self, retry_after: float | None) -> None:
        self.retry_after = retry_after
        super().__init__("PagerDuty is rate limiting events (429)")
