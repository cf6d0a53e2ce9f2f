"""Hostile deliveries at every `/hooks/<source>` route of the running bot (the real page
sink, incidents, the outbox and the Slack stand-in behind it). Every example keeps the
invariants of `HostileRig.attempt`: no 5xx, and no state change without the source's
credentials."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz_support import hostile_headers
from tests.hostile.budget import budget
from tests.hostile.checks import marked_text
from tests.hostile.deliveries import (
    FORGERIES,
    PATHS,
    SOURCES,
    dump,
    forged,
    fresh_key,
    hostile_bodies,
    marked,
    with_text,
)
from tests.hostile.rig import HostileRig

NAMES = sorted(SOURCES)
JSON = {"Content-Type": "application/json"}


@budget(120)
@given(data=st.data(), name=st.sampled_from(NAMES), forgery=st.sampled_from(FORGERIES))
def test_deliveries_without_valid_credentials_change_nothing(
    rig: HostileRig, data: st.DataObject, name: str, forgery: str
) -> None:
    source = SOURCES[name]
    # Mostly deliveries that would be accepted with the right credentials.
    body = data.draw(marked(source) | hostile_bodies(source))
    garbage = data.draw(
        hostile_headers("Authorization", "X-PagerDuty-Signature", "X-Signature",
                        "X-Grafana-Alerting-Signature", "X-Grafana-Alerting-Timestamp")
    )  # fmt: skip
    headers = {**JSON, **forged(forgery, source, body, garbage)}
    outcome = rig.attempt(
        f"POST {source.path} without credentials",
        lambda: rig.post(source.path, body, headers),
        authenticated=False,
    )
    assert outcome.response.status_code in (401, 413), outcome.response.text


@budget(40)
@given(path=st.sampled_from(PATHS), body=st.binary(max_size=1024), data=st.data())
def test_unknown_sources_change_nothing(
    rig: HostileRig, path: str, body: bytes, data: st.DataObject
) -> None:
    # Valid credentials of some source, at a route that is not that source's.
    name = data.draw(st.sampled_from(NAMES))
    headers = {**JSON, **SOURCES[name].credentials(body)}
    authenticated = any(s.path == path and s.name == name for s in SOURCES.values())
    rig.attempt(
        f"POST {path} (any source)",
        lambda: rig.post(path, body, headers),
        authenticated=authenticated or path == "/hooks/grafana",  # both grafana auths pass
    )


@budget(300)
@given(data=st.data(), name=st.sampled_from(NAMES))
def test_hostile_deliveries_with_valid_credentials(
    rig: HostileRig, data: st.DataObject, name: str
) -> None:
    source = SOURCES[name]
    body = data.draw(hostile_bodies(source))
    outcome = rig.attempt(
        f"POST {source.path}",
        lambda: rig.post(source.path, body, {**JSON, **source.credentials(body)}),
        authenticated=True,
    )
    assert outcome.response.status_code in (200, 400, 413, 422), outcome.response.text


@budget(25)
@given(
    name=st.sampled_from(NAMES),
    count=st.integers(min_value=1, max_value=4),
    data=st.data(),
)
def test_replayed_and_reordered_deliveries(
    rig: HostileRig, name: str, count: int, data: st.DataObject
) -> None:
    source = SOURCES[name]
    bodies = [dump(_firing_or_resolved(source.base(fresh_key()), data)) for _ in range(count)]
    extra = data.draw(st.lists(st.integers(0, count - 1), max_size=2 * count))
    order = data.draw(st.permutations([*range(count), *extra]))

    def deliver(index: int) -> None:
        body = bodies[index]
        outcome = rig.attempt(
            f"POST {source.path} (replayed, reordered)",
            lambda: rig.post(source.path, body, {**JSON, **source.credentials(body)}),
            authenticated=True,
        )
        assert outcome.response.status_code == 200, outcome.response.text

    for index in order:
        deliver(index)
    after = rig.rows()
    for index in reversed(order):  # every delivery again, in another order
        deliver(index)
    again = rig.rows()
    assert (again["pages"], again["incidents"]) == (after["pages"], after["incidents"])


def _firing_or_resolved(doc: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    if "alerts" in doc and "status" in doc["alerts"][0] and data.draw(st.booleans()):
        doc["status"] = "resolved"
        for alert in doc["alerts"]:
            alert["status"] = "resolved"
    return doc


@budget(40, shrink=False)
@given(name=st.sampled_from(NAMES), text=marked_text)
@example(name="alertmanager", text="replica down <!channel>")
@example(name="pagerduty", text="<http://evil.example/login|runbook> <@UEVIL0001>")
def test_page_text_reaches_slack_as_text(rig: HostileRig, name: str, text: str) -> None:
    source = SOURCES[name]
    doc = source.base(fresh_key())
    for path in source.text_fields:
        with_text(doc, path, text)
    body = dump(doc)
    outcome = rig.attempt(
        f"POST {source.path} (markup in page text)",
        lambda: rig.post(source.path, body, {**JSON, **source.credentials(body)}),
        authenticated=True,
    )
    if "\x00" in text:  # no database stores a NUL: that page is refused, naming the field
        answer = outcome.response.json()
        assert outcome.response.status_code in (200, 422), outcome.response.text
        refused = [answer] if outcome.response.status_code == 422 else answer["refused"]
        assert refused and all(r["field"] for r in refused), outcome.response.text
    else:
        assert outcome.response.status_code == 200, outcome.response.text
    assert outcome.markup == [], f"outside markup reached Slack raw: {outcome.markup}"
