"""The normalized page: what every intake parser (Alertmanager, PagerDuty, Grafana,
generic JSON) turns a webhook into, and all the core knows of where a page came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

PageStatus = Literal["firing", "resolved"]
Severity = Literal["critical", "high", "warning", "info"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "high": 2, "critical": 3}


# What replaces the cut-off end of a text that was too long to store.
TRUNCATED: Final = "…[truncated]"


class PageLimits:
    """The storage limits of a page's fields, in characters: the one copy of these
    numbers. The page and incident tables (bot/incidents/models.py) size their columns
    from it, and intake (`integrations.webhooks.make_page`) fits every page to it, so a
    page that passed intake always fits its rows."""

    source: Final = 40
    dedup_key: Final = 200
    title: Final = 300
    service: Final = 200
    kind: Final = 40
    summary: Final = 3000
    description: Final = 3000
    runbook_url: Final = 1000
    source_url: Final = 2000
    # The `region` label is copied into its own incident column.
    region: Final = 100
    # Labels are stored as one JSON text; these bound it (and every key built of it).
    labels: Final = 64
    label_key: Final = 100
    label_value: Final = 1000


@dataclass(frozen=True)
class RefusedPage:
    """A page of a delivery that intake could not accept; the others are still stored.
    `index` is its place in the delivery, `field` what did not fit."""

    index: int
    field: str
    reason: str


class Page(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # "alertmanager", "pagerduty", ...
    source: str = Field(min_length=1, max_length=PageLimits.source)
    # The source's identity of this alert (Alertmanager fingerprint, PagerDuty incident
    # id, ...): the same alert delivered again has the same dedup_key.
    dedup_key: str = Field(min_length=1, max_length=PageLimits.dedup_key)
    status: PageStatus
    severity: Severity = "warning"
    title: str = Field(min_length=1, max_length=PageLimits.title)
    service: str | None = Field(default=None, max_length=PageLimits.service)
    kind: str | None = Field(default=None, max_length=PageLimits.kind)
    labels: dict[str, str] = Field(default_factory=dict)
    summary: str = Field(default="", max_length=PageLimits.summary)
    runbook_url: str | None = Field(default=None, max_length=PageLimits.runbook_url)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    # Added by intake: the longer text some sources send beside the summary (Alertmanager's
    # `description` annotation), and a link back to the alert in its own system
    # (generatorURL, the PagerDuty incident page, the Grafana panel).
    description: str = Field(default="", max_length=PageLimits.description)
    source_url: str | None = Field(default=None, max_length=PageLimits.source_url)


class PageBatch(BaseModel):
    """One webhook delivery: its pages, and the delivery's own id where the source has one
    (PagerDuty's X-Webhook-Id), so a re-delivery can be recognised as a whole. `refused`
    are the delivery's pages that could not be accepted: one bad page never holds back
    the others."""

    model_config = ConfigDict(frozen=True)

    pages: list[Page]
    delivery_id: str | None = None
    refused: tuple[RefusedPage, ...] = ()


def normalize_severity(raw: str | None) -> Severity:
    """Map the many spellings of severity onto ours; unknown means warning."""
    value = (raw or "").strip().lower()
    if value in ("critical", "crit", "p1", "sev1", "fatal", "emergency", "page"):
        return "critical"
    if value in ("high", "error", "p2", "sev2", "major"):
        return "high"
    if value in ("info", "informational", "low", "p4", "p5", "sev4", "none", "ok"):
        return "info"
    return "warning"
