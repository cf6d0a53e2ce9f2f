"""Errors of the PagerDuty clients (Events API v2, and the REST API v2's on-call list).

    PagerDutyError              anything that went wrong talking to PagerDuty
    ├── PagerDutyRejected       PagerDuty refused the request (400: invalid event, bad key;
    │                           401/403: API token refused; 404: no such schedule)
    └── PagerDutyUnavailable    no answer we can trust: refused, timed out, 5xx
        └── PagerDutyRateLimited    429; `retry_after` seconds when PagerDuty said

None of them carries the routing key or the API token.
"""

from __future__ import annotations


class PagerDutyError(Exception):
    pass


class PagerDutyRejected(PagerDutyError):
    def __init__(self, status: int, reason: str, *, subject: str = "the event") -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"PagerDuty refused {subject} ({status}): {reason}")


class PagerDutyUnavailable(PagerDutyError):
    pass


class PagerDutyRateLimited(PagerDutyUnavailable):
    def __init__(self, retry_after: float | None) -> None:
        self.retry_after = retry_after
        super().__init__("PagerDuty is rate limiting events (429)")


def rate_limited(retry_after_header: str) -> PagerDutyRateLimited:
    """A 429, with its Retry-After when PagerDuty gave a plain number of seconds."""
    header = retry_after_header.strip()
    # isdecimal, not isdigit: "²".isdigit() is true and float("²") raises.
    return PagerDutyRateLimited(float(header) if header.isascii() and header.isdecimal() else None)
