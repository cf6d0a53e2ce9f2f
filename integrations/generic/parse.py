"""Any JSON document → `PageBatch`, through a `FieldMapping`.

Values are read by dotted path; scalars (strings, numbers, booleans) become text, and an
object or list where text is expected is an error that names the field. The dedup key
and the title are required; everything else is optional.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from integrations.generic.mapping import FieldMapping
from integrations.pages import Page, PageBatch, PageLimits, normalize_severity
from integrations.webhooks import (
    InvalidPayload,
    as_utc,
    bounded_key,
    load_json,
    make_page,
    page_batch,
    safe_url,
)

_MISSING = object()
_DATETIME: TypeAdapter[datetime] = TypeAdapter(datetime)
MAX_LABELS = 64


def source_name(name: str) -> str:
    return f"generic:{name}"


def lookup(document: Any, path: str) -> Any:
    """The value at a dotted path, or `_MISSING`."""
    node = document
    for segment in path.split("."):
        if isinstance(node, dict):
            node = node.get(segment, _MISSING)
        elif isinstance(node, list) and segment.isascii() and segment.isdecimal():
            index = int(segment)
            node = node[index] if index < len(node) else _MISSING
        else:
            return _MISSING
        if node is _MISSING:
            return _MISSING
    return node


class _NotText(Exception):
    pass


def _scalar(value: Any) -> str | None:
    """Text of a scalar; None when absent or blank; `_NotText` for objects and lists."""
    if value is _MISSING or value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value).strip() or None
    raise _NotText


def _text(item: Any, path: str | None, field: str) -> str | None:
    if path is None:
        return None
    try:
        return _scalar(lookup(item, path))
    except _NotText:
        raise InvalidPayload(f"{field}: the value at {path} is not text or a number") from None


def _required(item: Any, path: str, field: str) -> str:
    value = _text(item, path, field)
    if value is None:
        raise InvalidPayload(f"{field}: no value at {path}")
    return value


def _time(item: Any, path: str | None, field: str) -> datetime | None:
    if path is None:
        return None
    value = lookup(item, path)
    if value is _MISSING or value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidPayload(f"{field}: the value at {path} is not a timestamp")
    try:
        return as_utc(_DATETIME.validate_python(value))
    except ValidationError:
        raise InvalidPayload(f"{field}: the value at {path} is not a timestamp") from None


def _labels(item: Any, mapping: FieldMapping) -> dict[str, str]:
    labels: dict[str, str] = {}
    if mapping.labels_from is not None:
        found = lookup(item, mapping.labels_from)
        if isinstance(found, dict):
            for key, value in found.items():
                # Nested objects in a tag map are skipped: a label is one line of text.
                with contextlib.suppress(_NotText):
                    text = _scalar(value)
                    if text is not None:
                        labels[str(key)] = text
    for name, path in mapping.labels.items():
        text = _text(item, path, f"labels.{name}")
        if text is not None:
            labels[name] = text
    if len(labels) > MAX_LABELS:
        raise InvalidPayload(f"labels: more than {MAX_LABELS}")
    return labels


def _page(item: Any, name: str, mapping: FieldMapping) -> Page:
    key_paths = [mapping.dedup_key] if isinstance(mapping.dedup_key, str) else mapping.dedup_key
    key = "/".join(_required(item, p, "dedup_key") for p in key_paths)
    status_text = (_text(item, mapping.status, "status") or "").lower()
    status = "resolved" if status_text in mapping.resolved_values else "firing"
    service = _text(item, mapping.service, "service")
    kind = _text(item, mapping.kind, "kind")
    return make_page(
        source=source_name(name),
        dedup_key=bounded_key(key),
        status=status,
        severity=normalize_severity(_text(item, mapping.severity, "severity")),
        title=_required(item, mapping.title, "title"),
        service=service,
        kind=kind,
        labels=_labels(item, mapping),
        summary=_text(item, mapping.summary, "summary") or "",
        description=_text(item, mapping.description, "description") or "",
        runbook_url=safe_url(
            _text(item, mapping.runbook_url, "runbook_url"), PageLimits.runbook_url
        ),
        source_url=safe_url(_text(item, mapping.source_url, "source_url"), PageLimits.source_url),
        starts_at=_time(item, mapping.starts_at, "starts_at"),
        ends_at=_time(item, mapping.ends_at, "ends_at") if status == "resolved" else None,
    )


def parse_document(body: bytes, *, name: str, mapping: FieldMapping) -> PageBatch:
    document = load_json(body)
    if mapping.items is None:
        items = [document]
    else:
        found = lookup(document, mapping.items)
        if not isinstance(found, list) or not found:
            raise InvalidPayload(f"items: no non-empty list at {mapping.items}")
        if len(found) > mapping.max_items:
            raise InvalidPayload(f"items: more than {mapping.max_items} in one delivery")
        items = found
    if not all(isinstance(item, dict) for item in items):
        raise InvalidPayload("every alert must be a JSON object")
    return page_batch(
        items,
        lambda item: _page(item, name, mapping),
        where=lambda index: f"items[{index}]: " if mapping.items is not None else "",
    )
