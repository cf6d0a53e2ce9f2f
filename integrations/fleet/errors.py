"""Errors of the fleet backends.

    FleetError                  anything that went wrong talking to the control plane
    ├── ServiceNotFound         the control plane does not know that service
    ├── FleetRequestRejected    the control plane refused the request (4xx), with its reason
    └── FleetUnavailable        no answer we can trust: connection refused, timeout, 5xx
        └── FleetTimeout        the request timed out

The core maps them to messages; none of them carries credentials.
"""

from __future__ import annotations


class FleetError(Exception):
    pass


class ServiceNotFound(FleetError):
    def __init__(self, service: str) -> None:
        self.service = service
        super().__init__(f"no service named {service}")


class FleetRequestRejected(FleetError):
    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(f"fleet API refused the request ({status}): {reason}")


class FleetUnavailable(FleetError):
    pass


class FleetTimeout(FleetUnavailable):
    pass
