"""Errors of the Alertmanager API client.

    AlertmanagerError               anything that went wrong talking to Alertmanager
    ├── AlertmanagerRejected        Alertmanager refused the request (4xx), with its reason
    │   └── SilenceNotFound         no silence with that id
    ├── AlertmanagerProtocolError   an answer that breaks the API v2 contract
    └── AlertmanagerUnavailable     no answer we can trust: refused, timed out, 5xx

None of them carries credentials: messages name the method, the path and the reason.
"""

from __future__ import annotations


class AlertmanagerError(Exception):
    pass


class AlertmanagerRejected(AlertmanagerError):
    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"Alertmanager refused the request ({status}): {reason}")


class SilenceNotFound(AlertmanagerRejected):
    def __init__(self, silence_id: str) -> None:
        self.silence_id = silence_id
        super().__init__(404, f"no silence with id {silence_id}")


class AlertmanagerProtocolError(AlertmanagerError):
    pass


class AlertmanagerUnavailable(AlertmanagerError):
    pass
