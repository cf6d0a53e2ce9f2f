"""Which incident a page belongs to: its group key, and its place in the alert's life.

Pure functions of the page and the config, so they run before the transaction starts.
"""

from __future__ import annotations

import hashlib
from datetime import UTC

from integrations.pages import Page

# Page fields a grouping, routing or storm key may name besides labels.
_FIELDS = ("service", "kind", "severity", "source", "title", "status")
NO_EPOCH = "-"


def value_of(page: Page, key: str) -> str | None:
    """A label's value, else the page field of that name; `alertname` falls back to title."""
    if key in page.labels:
        return page.labels[key]
    if key in _FIELDS:
        value = getattr(page, key)
        return None if value is None else str(value)
    if key == "alertname":
        return page.title
    return None


def epoch_of(page: Page) -> str:
    """The alert's start time: the same for every re-delivery of one firing and its
    resolution, new when the alert fires again after resolving. Sources without a start
    time all share one epoch, so their re-fires only count when the dedup key changes."""
    if page.starts_at is None:
        return NO_EPOCH
    return page.starts_at.astimezone(UTC).isoformat(timespec="microseconds")


def group_key(page: Page, keys: list[str]) -> str:
    return ",".join(f"{k}={value_of(page, k) or ''}" for k in keys)[:500]


def hash_key(key: str) -> str:
    # Fixed width for the UNIQUE index, whatever the labels' lengths.
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
