"""How a JSON document from any sender becomes pages: a field mapping from `app.yaml`.

A path is dotted (`alert.labels.host`); a segment of digits indexes a list
(`checks.0.name`). With `items`, the document holds a list of alerts at that path and
every other path is read inside each item; without it the whole document is one alert.

    mapping:
      items: alerts
      dedup_key: [host, check]        # several paths are joined with "/"
      title: check
      status: state                   # values in resolved_values mean resolved
      severity: level
      service: labels.service
      labels: {region: labels.region}
      labels_from: tags               # every scalar entry of this object is a label
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_SEGMENT = re.compile(r"[^.\s]{1,100}")
MAX_SEGMENTS = 16


def _check_path(path: str) -> str:
    segments = path.split(".")
    if len(segments) > MAX_SEGMENTS or not all(_SEGMENT.fullmatch(s) for s in segments):
        raise ValueError(f"{path!r} is not a dotted path like alert.labels.host")
    return path


class FieldMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    items: str | None = None
    dedup_key: str | list[str] = Field(min_length=1)
    title: str
    status: str | None = None
    resolved_values: list[str] = Field(
        default_factory=lambda: ["resolved", "ok", "closed", "recovered", "inactive"]
    )
    severity: str | None = None
    service: str | None = None
    kind: str | None = None
    summary: str | None = None
    description: str | None = None
    runbook_url: str | None = None
    source_url: str | None = None
    starts_at: str | None = None
    ends_at: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    labels_from: str | None = None
    # At most this many items per delivery; more is a 422, never a silent cut.
    max_items: int = Field(default=1000, ge=1, le=100_000)

    @field_validator(
        "items",
        "title",
        "status",
        "severity",
        "service",
        "kind",
        "summary",
        "description",
        "runbook_url",
        "source_url",
        "starts_at",
        "ends_at",
        "labels_from",
    )
    @classmethod
    def _paths(cls, value: str | None) -> str | None:
        return None if value is None else _check_path(value)

    @field_validator("dedup_key")
    @classmethod
    def _key_paths(cls, value: str | list[str]) -> str | list[str]:
        for path in [value] if isinstance(value, str) else value:
            _check_path(path)
        return value

    @field_validator("labels")
    @classmethod
    def _label_paths(cls, value: dict[str, str]) -> dict[str, str]:
        for path in value.values():
            _check_path(path)
        return value

    @field_validator("resolved_values")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value]
