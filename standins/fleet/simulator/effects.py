"""What a step does to a service when it begins or ends; small closures over member names.

Effects look members up by name when they run, because an earlier step may have changed
roles in the meantime.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from integrations.fleet.models import MemberState
from standins.fleet.simulator.state import SimService, host_for

Effect = Callable[[SimService], None]


def member_down(name: str, state: MemberState) -> Effect:
    def apply(service: SimService) -> None:
        service.get(name).set_down(state)

    return apply


def member_up(name: str) -> Effect:
    """Running and healthy; a replica that rejoins has caught up."""

    def apply(service: SimService) -> None:
        member = service.get(name)
        member.set_running()
        if member.role == "replica":
            member.lag_bytes = 0

    return apply


def promote(candidate: str) -> Effect:
    """The candidate becomes primary; the old primary, if any, becomes its replica."""

    def apply(service: SimService) -> None:
        old = service.primary
        if old is not None:
            old.role = "replica"
            old.lag_bytes = 0
        new = service.get(candidate)
        new.role = "primary"
        new.lag_bytes = None

    return apply


def new_node(name: str) -> Effect:
    def apply(service: SimService) -> None:
        member = service.get(name)
        member.generation += 1
        member.host = host_for(name, service.region, member.generation)
        member_up(name)(service)

    return apply


def set_version(version: str) -> Effect:
    def apply(service: SimService) -> None:
        service.version = version

    return apply


def set_paused(paused: bool) -> Effect:
    def apply(service: SimService) -> None:
        service.paused = paused

    return apply


def set_maintenance(at: datetime) -> Effect:
    def apply(service: SimService) -> None:
        service.maintenance_at = at

    return apply
