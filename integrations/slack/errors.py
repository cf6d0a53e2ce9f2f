"""Errors of Slack's Web API client.

SlackError
├── SlackApiError       Slack answered `ok: false` (`error` names why); retrying won't help
└── SlackUnavailable    no usable answer: connection refused, timeout, 5xx; retry later
    └── SlackRateLimited   429; `retry_after` seconds, from Slack's Retry-After header
"""

from __future__ import annotations


class SlackError(Exception):
    pass


class SlackApiError(SlackError):
    def __init__(self, method: str, error: str) -> None:
        self.method = method
        self.error = error
        super().__init__(f"{method}: {error}")


class SlackUnavailable(SlackError):
    pass


class SlackRateLimited(SlackUnavailable):
    def __init__(self, method: str, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(f"{method}: rate limited, retry after {retry_after:g}s")
