"""The delivery planner as a pure function: pages and the state they touch in, the plan
out (incidents opened, joined, resolved; storm roll-ups; thread news; audit; follow-ups).
No database: the state is built by hand, as the applier would have loaded it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.audit import vocabulary as v
from bot.config import Config, parse_config
from bot.incidents.ingest_plan import plan_delivery
from bot.incidents.ingest_plan_types import (
    DeliveryState,
    FollowUps,
    IncidentState,
    IngestPlan,
    StormState,
)
from bot.incidents.pagestore import Counterpart, Prepared, prepare
from integrations.pages import Page
from tests.conftest import base_config
from tests.incident_helpers import CHANNEL, EPOCH, page, resolved

NOW = EPOCH + timedelta(minutes=5)


def config(**sections: Any) -> Config:
    return parse_config(base_config(**sections), {})


def prepared(cfg: Config, *pages: Page) -> list[Prepared]:
    return prepare(cfg, pages)


def ids_for(items: list[Prepared], first: int = 100) -> dict[Any, int]:
    return {item.identity: first + n for n, item in enumerate(items)}


def open_incident(item: Prepared, **fields: Any) -> IncidentState:
    values: dict[str, Any] = {
        "id": 7, "group_hash": item.group_hash, "open_key": item.group_hash,
        "status": "triggered", "severity": "warning", "source": "alertmanager",
        "channel": CHANNEL, "opened_at": EPOCH, "page_count": 1, "firing_count": 1,
        "storm_key": "region=eu-west-1",
    }  # fmt: skip
    values.update(fields)
    return IncidentState(**values)


def plan(cfg: Config, items: list[Prepared], **state: Any) -> IngestPlan:
    return plan_delivery(
        items, DeliveryState(page_ids=ids_for(items), **state), now=NOW, storms=cfg.storms
    )


def test_a_new_group_opens_one_incident_with_its_root_and_audit() -> None:
    cfg = config()
    items = prepared(cfg, page("fp-1"), page("fp-2", instance="pg-orders-2"))
    group = items[0].group_hash
    out = plan(cfg, items, mentions={group: "<@UALICE01>"})
    [opened] = out.opened
    assert (opened.page, opened.mentions, opened.folded) == (items[0], "<@UALICE01>", False)
    [update] = out.incidents
    assert (update.incident, update.page_count, update.firing_count) == (group, 2, 2)
    assert dict(out.page_targets) == {100: group, 101: group}
    assert [(n.incident, n.kind) for n in out.thread] == [(group, "root")]
    [note] = out.audit
    assert (note.action, note.incident, note.params["group"]) == (
        v.INCIDENT_OPENED, group, items[0].group_key,
    )  # fmt: skip
    assert out.follow_ups.refresh == (group,)
    assert out.follow_ups.firing_pages == (100, 101)
    assert not out.follow_ups.announce


def test_a_page_of_an_open_group_joins_it_and_raises_its_severity() -> None:
    cfg = config()
    items = prepared(cfg, page("fp-2", severity="critical"))
    out = plan(cfg, items, incidents=[open_incident(items[0])])
    assert out.opened == () and out.reopened == ()
    [update] = out.incidents
    assert (update.incident, update.page_count, update.firing_count) == (7, 2, 2)
    assert update.severity == "critical" and not update.resolved
    [news] = out.thread
    assert (news.incident, news.kind, len(news.lines)) == (7, "later", 1)
    assert out.audit == ()
    assert out.follow_ups.announce and out.follow_ups.refresh == ()


def test_the_last_alert_resolved_resolves_the_incident_by_its_source() -> None:
    cfg = config()
    firing = page("fp-1")
    items = prepared(cfg, resolved(firing))
    earlier = {items[0].alert: [Counterpart("firing", 7)]}
    known = open_incident(items[0], pagerduty_state="sent")
    out = plan(cfg, items, earlier=earlier, incidents=[known])
    [update] = out.incidents
    assert (update.page_count, update.firing_count, update.resolved) == (2, 0, True)
    [news] = out.thread
    assert news.kind == "now"
    assert ["every alert has cleared (alertmanager)" in r.text for r in news.replies] == [True]
    [note] = out.audit
    assert (note.action, note.incident, dict(note.params)) == (
        v.INCIDENT_RESOLVED, 7, {"by": "alertmanager", "pages": 2},
    )  # fmt: skip
    assert out.follow_ups.pagerduty
    assert out.follow_ups.firing_pages == ()


def test_a_resolved_incident_of_the_group_is_reopened_not_opened_anew() -> None:
    cfg = config()
    items = prepared(cfg, page("fp-1", starts_at=NOW))
    gone = open_incident(
        items[0], open_key=None, status="resolved", resolved_at=NOW - timedelta(minutes=3),
        firing_count=0, reopened_count=1,
    )  # fmt: skip
    out = plan(cfg, items, incidents=[gone])
    assert out.opened == ()
    assert [r.incident_id for r in out.reopened] == [7]
    [news] = out.thread
    assert news.kind == "now" and "reopen #2" in news.replies[0].text
    assert [(n.action, dict(n.params)) for n in out.audit] == [(v.INCIDENT_REOPENED, {"times": 2})]


def test_the_storm_threshold_starts_a_storm_and_later_incidents_fold_into_it() -> None:
    cfg = config(storms={"threshold": 3})
    items = prepared(cfg, *(page(f"fp-{n}", service=f"pg-{n}") for n in range(4)))
    pair = (CHANNEL, "region=eu-west-1")
    out = plan(cfg, items)
    [start] = out.storm_starts
    assert (start.pair, start.earlier, start.route) == (pair, 2, "default")
    assert [(n.storm, n.folded) for n in out.opened] == [
        (pair, False), (pair, False), (pair, True), (pair, True),
    ]  # fmt: skip
    assert [(r.storm, r.started, r.incidents, r.pages) for r in out.storms] == [(pair, True, 2, 4)]
    # The first two keep their threads; the folded ones are spoken for by the storm's.
    assert [n.kind for n in out.thread] == ["root", "root"]
    assert [n.params["storm"] for n in out.audit] == [pair] * 4


def test_an_active_storm_takes_a_new_incident_and_its_pages() -> None:
    cfg = config(storms={"threshold": 3})
    items = prepared(cfg, page("fp-9", service="pg-9"))
    active = StormState(id=3, channel=CHANNEL, storm_key="region=eu-west-1", last_incident_at=NOW)
    out = plan(cfg, items, storms=[active])
    assert out.storm_starts == ()
    assert [(n.storm, n.folded) for n in out.opened] == [(3, True)]
    assert [(r.storm, r.started, r.incidents, r.pages) for r in out.storms] == [(3, False, 1, 1)]
    assert out.thread == () and out.follow_ups.announce  # the storm's root is re-counted


def test_a_page_repeated_in_one_delivery_is_counted_once() -> None:
    cfg = config()
    items = prepared(cfg, page("fp-1"), page("fp-1"))
    out = plan(cfg, items)
    [update] = out.incidents
    assert (update.page_count, update.firing_count) == (1, 1)
    assert list(out.page_targets) == [100]


def test_a_firing_page_whose_resolution_came_with_it_opens_nothing() -> None:
    cfg = config()
    items = prepared(cfg, page("fp-1"), resolved(page("fp-1")))
    out = plan(cfg, items)
    assert out.opened == () and out.incidents == () and out.follow_ups == FollowUps()
