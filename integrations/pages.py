"""The normalized page: what every intake parser (Alertmanager, PagerDuty, Grafana,
generic JSON) turns a webhook into, and all the core knows of where a page came from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PageStatus = Literal["firing", "resolved"]
Severity = Literal["critical", "high", "warning", "info"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "high": 2, "critical": 3}


class Page(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(min_length=1, max_length=40)  # "alertmanager", "pagerduty", ...
    # The source's identity of this alert (Alertmanager fingerprint, PagerDuty incident
    # id, ...): the same alert delivered again has the same dedup_key.
    dedup_key: str = Field(min_length=1, max_length=200)
    status: PageStatus
    severity: Severity = "warning"
    title: str = Field(min_length=1, max_length=300)
    service: str | None = Field(default=None, max_length=200)
    kind: str | None = Field(default=None, max_length=40)
    labels: dict[str, str] = Field(default_factory=dict)
    summary: str = Field(default="", max_length=3000)
    runbook_url: str | None = Field(default=None, max_length=1000)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    # Added by intake: the longer text some sources send beside the summary (Alertmanager's
    # `description` annotation), and a link back to the alert in its own system
    # (generatorURL, the PagerDuty incident page, the Grafana panel).
    description: str = Field(default="", max_length=3000)
    source_url: str | None = Field(default=None, max_length=2000)


class PageBatch(BaseModel):
    """One webhook delivery: its pages, and the delivery's own id where the source has one
    (PagerDuty's X-Webhook-Id), so a re-delivery can be recognised as a whole."""

    model_config = ConfigDict(frozen=True)

    pages: list[Page]
    delivery_id: str | None = None


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
