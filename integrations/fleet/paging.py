"""Filtered, cursor-paged listing of services (docs/fleet-api.yaml, `GET /v1/services`).

A cursor names the last service of the page it ends ("continue after this one"), so a
listing in a stable order resumes exactly where it stopped: each match once, whatever
the page size. `page_of` pages an in-memory list that way: the simulator's small fleets,
and backends that know only a few services (Patroni) or only `list_services`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable

from integrations.fleet.models import ServiceList, ServiceSummary
from integrations.fleet.selector import Selector

MAX_PAGE = 1000


class InvalidCursor(ValueError):
    """A cursor this listing never issued."""


def encode_cursor(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        name = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        name = ""
    if not name:
        raise InvalidCursor("cursor is not one this API issued")
    return name


def page_of(
    items: Iterable[ServiceSummary], selector: Selector | None, cursor: str | None, limit: int
) -> ServiceList:
    """The page after `cursor` of the items that match, in name order."""
    after = decode_cursor(cursor) if cursor else None
    matching = sorted(
        (
            s
            for s in items
            if (after is None or s.name > after) and (selector is None or selector.matches(s))
        ),
        key=lambda s: s.name,
    )
    chunk = matching[:limit]
    more = len(matching) > limit
    return ServiceList(items=chunk, next_cursor=encode_cursor(chunk[-1].name) if more else None)
