"""Checks an action's parameters against the service before any plan is drawn.

A bad parameter is the caller's mistake (422); a refusal the control plane decides from
the state of the service is a plan with `allowed: false`, drawn in `actions`.
"""

from __future__ import annotations

from datetime import datetime

from integrations.fleet.models import Action, PlanRequest, ServiceKind
from standins.fleet.simulator.state import ApiProblem, SimService

_NONE: frozenset[str] = frozenset()
# action -> (accepted parameters, required parameters)
PARAMS: dict[Action, tuple[frozenset[str], frozenset[str]]] = {
    "restart": (frozenset({"member"}), _NONE),
    "switchover": (frozenset({"candidate"}), _NONE),
    "failover": (_NONE, _NONE),
    "replace": (frozenset({"member"}), frozenset({"member"})),
    "reinit": (frozenset({"member"}), frozenset({"member"})),
    "maintenance": (frozenset({"mode", "at"}), frozenset({"mode"})),
    "pause": (_NONE, _NONE),
    "resume": (_NONE, _NONE),
    "rotate-credentials": (_NONE, _NONE),
}
# Kafka has no primary to move and no replica to re-clone.
UNSUPPORTED: dict[ServiceKind, frozenset[Action]] = {
    "postgres": frozenset(),
    "redis": frozenset(),
    "kafka": frozenset({"switchover", "failover", "reinit"}),
}
MAINTENANCE_MODES = ("run", "schedule")


def _invalid(message: str) -> ApiProblem:
    return ApiProblem(422, "invalid_params", message)


def _check_member(service: SimService, key: str, name: str) -> None:
    if service.member(name) is None:
        raise _invalid(f"{key}: {service.name} has no member {name}")


def _check_maintenance(params: dict[str, str], now: datetime) -> None:
    mode = params["mode"]
    if mode not in MAINTENANCE_MODES:
        raise _invalid(f"mode: must be one of {', '.join(MAINTENANCE_MODES)}")
    at = params.get("at")
    if mode == "run":
        if at is not None:
            raise _invalid("at: only with mode schedule")
        return
    if at is None:
        raise _invalid("at: required with mode schedule")
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        raise _invalid("at: not an ISO 8601 date-time") from None
    if when.tzinfo is None:
        raise _invalid("at: needs a UTC offset")
    if when <= now:
        raise _invalid("at: must be in the future")


def validate_params(service: SimService, request: PlanRequest, now: datetime) -> dict[str, str]:
    """The request's parameters as strings, or an `ApiProblem` naming the first fault."""
    action = request.action
    if action not in PARAMS:
        # The Kafka repairs of the `kafka` backend: the simulator does not model them.
        raise ApiProblem(
            422, "action_not_supported", f"{action} is not something the simulator does"
        )
    if action in UNSUPPORTED[service.kind]:
        raise ApiProblem(
            422, "action_not_supported", f"{action} does not apply to a {service.kind} service"
        )
    accepted, required = PARAMS[action]
    unknown = sorted(set(request.params) - accepted)
    if unknown:
        raise _invalid(f"{action} takes no parameter {', '.join(unknown)}")
    missing = sorted(required - set(request.params))
    if missing:
        raise _invalid(f"{action} needs {', '.join(missing)}")
    params: dict[str, str] = {}
    for key, value in request.params.items():
        if not isinstance(value, str) or not value:
            raise _invalid(f"{key}: must be a non-empty string")
        params[key] = value
    for key in ("member", "candidate"):
        if key in params:
            _check_member(service, key, params[key])
    if action == "maintenance":
        _check_maintenance(params, now)
    return params
