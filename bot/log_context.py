"""Ids that say what a log line is about (request, incident, action, operation).

Bound for the duration of a piece of work with `bound(action_id=...)`; the JSON log
formatter (`bot.logs`) adds whatever is bound to every record logged inside it, including
records of libraries (httpx, SQLAlchemy) called from that work. A context variable, so
concurrent tasks each see their own ids.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Literal

Key = Literal["request_id", "incident_id", "action_id", "operation_id", "delivery_id"]

_NONE: Mapping[str, str] = MappingProxyType({})
_bound: ContextVar[Mapping[str, str]] = ContextVar("watchkeeper_log_ids", default=_NONE)


@contextmanager
def bound(**ids: str | None) -> Iterator[None]:
    """Add `ids` (None values skipped) to every record logged inside the block."""
    unknown = set(ids) - set(Key.__args__)  # type: ignore[attr-defined]
    if unknown:
        raise ValueError(f"unknown log context keys: {sorted(unknown)}")
    token = _bound.set({**_bound.get(), **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _bound.reset(token)


def current() -> Mapping[str, str]:
    return _bound.get()
