"""Errors of the fleet backends.

    FleetError                  anything that went wrong talking to the control plane
    ├── ServiceNotFound         the control plane does not know that service
    ├── OperationNotFound       the control plane does not know that operation id
    ├── FleetRequestRejected    the control plane refused the request (4xx), with its reason
    ├── FleetProtocolError      an answer that breaks the contract: not JSON, wrong shape
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


class OperationNotFound(FleetError):
    def __init__(self, operation_id: str) -> None:
        self.operation_id = operation_id
        super().__init__(f"no operation with id {operation_id}")


class FleetRequestRejected(FleetError):
    def __init__(self, status: int, reason: str, *, code: str | None = None) -> None:
        self.status = status
        self.reason = reason
        # The contract's stable error code (`idempotency_key_reused`, ...), when it sent one.
        self.code = code
        super().__init__(f"fleet API refused the request ({status}): {reason}")


class FleetProtocolError(FleetError):
    pass


class FleetUnavailable(FleetError):
    pass


class FleetTimeout(FleetUnavailable):
    pass
