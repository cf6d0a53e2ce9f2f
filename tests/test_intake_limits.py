"""Storage limits at intake: a field longer than its column is cut with a marker or its
page refused on its own (`integrations.pages.PageLimits`); the delivery's other pages are
stored either way, on SQLite and PostgreSQL, and a redelivery is answered the same."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import select

from bot.incidents.models import Incident, PageDelivery, PageRecord
from integrations.pages import TRUNCATED, Page, PageLimits
from integrations.webhooks import InvalidPayload, make_page
from tests.intake_helpers import captured, intake_app


def _delivery(mutate: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """The captured two-alert delivery plus a third alert, changed by `mutate`."""
    headers, body = captured("firing-group")
    third = copy.deepcopy(body["alerts"][0])
    third["fingerprint"] = "0ddba11cafe00001"
    third["labels"]["member"] = "pg-orders-3"
    mutate(third)
    body["alerts"].insert(1, third)
    return headers, body


async def _stored(app: Any) -> tuple[list[PageRecord], list[Incident]]:
    async with app.bot.runtime.sessions() as session:
        pages = list(await session.scalars(select(PageRecord).order_by(PageRecord.id)))
        incidents = list(await session.scalars(select(Incident)))
    return pages, incidents


async def test_an_overlong_region_label_is_cut_and_the_delivery_stored(db_url: str) -> None:
    # The region label fills a VARCHAR(100) column of incidents: before the fit, this
    # delivery failed with 503 on PostgreSQL, on every redelivery.
    headers, body = _delivery(lambda a: a["labels"].update(region="r" * 500))
    async with intake_app(db_url, runtime_sink=True) as app:
        first = await app.post("/hooks/alertmanager", body, headers)
        again = await app.post("/hooks/alertmanager", body, headers)
        pages, incidents = await _stored(app)
    assert (first.status_code, first.json()) == (200, {"accepted": 3, "new": 3})
    assert (again.status_code, again.json()) == (200, {"accepted": 3, "new": 0})
    cut = "r" * (PageLimits.region - len(TRUNCATED)) + TRUNCATED
    assert sorted(json.loads(p.labels)["region"] for p in pages) == [cut, "us-east-1", "us-east-1"]
    assert incidents


async def test_an_overlong_service_refuses_that_page_only(db_url: str) -> None:
    headers, body = _delivery(lambda a: a["labels"].update(service="s" * 300))
    async with intake_app(db_url, runtime_sink=True) as app:
        first = await app.post("/hooks/alertmanager", body, headers)
        again = await app.post("/hooks/alertmanager", body, headers)
        pages, _ = await _stored(app)
    refused = [{"index": 1, "field": "service", "reason": "alerts[1]: label service is "
                f"longer than {PageLimits.service} characters"}]  # fmt: skip
    assert (first.status_code, first.json()) == (200, {"accepted": 2, "new": 2, "refused": refused})
    assert (again.status_code, again.json()) == (200, {"accepted": 2, "new": 0, "refused": refused})
    assert sorted(p.labels.count("pg-orders-") for p in pages) == [1, 1]
    assert {p.dedup_key for p in pages} == {"b4d3847abc9e7b31", "5ba0845daf8f8b7e"}


async def test_a_delivery_of_only_bad_pages_is_422_naming_the_field(db_url: str) -> None:
    headers, body = captured("firing-single")
    body["alerts"][0]["labels"]["kind"] = "k" * 41
    async with intake_app(db_url, runtime_sink=True) as app:
        answer = await app.post("/hooks/alertmanager", body, headers)
        pages, _ = await _stored(app)
    assert answer.status_code == 422
    assert answer.json()["field"] == "kind"
    assert pages == []


def _fields(**changes: Any) -> dict[str, Any]:
    return {"source": "alertmanager", "dedup_key": "k", "status": "firing", "title": "t"} | changes


@pytest.mark.parametrize("name", ["title", "summary", "description"])
def test_text_for_people_is_cut_with_a_marker(name: str) -> None:
    page = make_page(**_fields(**{name: "x" * 10_000}))
    value = getattr(page, name)
    assert len(value) == getattr(PageLimits, name) and value.endswith(TRUNCATED)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"service": "s" * 201}, "service"),
        ({"kind": "k" * 41}, "kind"),
        ({"source": "x" * 41}, "source"),
        ({"labels": {"k" * 101: "v"}}, "labels"),
        ({"labels": {f"l{i}": "v" for i in range(65)}}, "labels"),
    ],
)
def test_fields_that_key_routing_are_refused_not_cut(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidPayload) as caught:
        make_page(**_fields(**changes))
    assert (caught.value.status, caught.value.field) == (422, field)


def test_the_limits_are_the_columns() -> None:
    """One copy of the numbers: the columns are sized from `PageLimits`, and the page
    model refuses anything longer."""
    for model in (PageRecord, Incident):
        for column in model.__table__.columns:  # type: ignore[attr-defined]
            limit = getattr(PageLimits, column.name, None)
            if limit is not None and column.name not in ("labels", "summary", "description"):
                assert column.type.length == limit, (model.__name__, column.name)
    assert PageDelivery.__table__.c.source.type.length == PageLimits.source  # type: ignore[attr-defined]
    assert Page.model_fields["title"].metadata[-1].max_length == PageLimits.title
