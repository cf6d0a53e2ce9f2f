"""A fleet backend whose calls are observed: each awaited method tells `observe` whether
the backend answered, so `/status` and `/metrics` know the fleet's reachability from the
calls the bot makes anyway (bot.monitoring.reachability).

It forwards by name rather than listing the methods, so every backend type, and every
method of the action port (`bot.actions.port.ActionFleet`) a backend has, is observed
without change here; a method a backend lacks is still missing (the action port's check
relies on that).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from integrations.fleet.errors import FleetError

# (backend name, None when it answered or the FleetError it ended in)
Observe = Callable[[str, FleetError | None], None]


class Watched:
    def __init__(self, name: str, backend: object, observe: Observe) -> None:
        self._name = name
        self._backend = backend
        self._observe = observe

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._backend, attr)
        if not inspect.iscoroutinefunction(value):
            return value

        @functools.wraps(value)
        async def observed(*args: Any, **kwargs: Any) -> Any:
            try:
                result = await value(*args, **kwargs)
            except FleetError as exc:
                self._observe(self._name, exc)
                raise
            self._observe(self._name, None)
            return result

        return observed
