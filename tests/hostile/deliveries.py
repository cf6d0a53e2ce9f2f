"""The intake sources as a sender sees them: where to post, a valid body, its credentials,
and which of its fields end up as text in Slack. The strategies of test_hooks.py start
from these and make them hostile."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from integrations.webhooks import hmac_sha256_hex
from tests.fuzz_support import json_values, mutated
from tests.hostile.checks import marked_text
from tests.hostile.rig import MAX_BODY
from tests.intake_helpers import (
    AM_TOKEN,
    GRAFANA_TOKEN,
    SIGNED_SECRET,
    UPTIME_TOKEN,
    basic,
    bearer,
    captured,
    grafana_headers,
    grafana_message,
    pagerduty_event,
    pagerduty_headers,
)

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Source:
    name: str
    path: str
    base: Callable[[str], dict[str, Any]]  # a valid body whose pages' keys contain the text
    credentials: Callable[[bytes], dict[str, str]]
    text_fields: tuple[Path, ...]  # rendered in the incident's Slack messages
    signs: bool = False  # the credentials are a signature of the body


def _alertmanager(key: str) -> dict[str, Any]:
    doc = captured("firing-group")[1]
    for i, alert in enumerate(doc["alerts"]):
        alert["fingerprint"] = f"{key}-{i}"
    return doc


def _pagerduty(key: str) -> dict[str, Any]:
    return pagerduty_event(incident_id=f"P{key}", event_id=str(uuid.uuid4()))


def _uptime(key: str) -> dict[str, Any]:
    return {
        "check": {"id": key, "name": "api", "service": "pg-orders", "region": "eu"},
        "state": "down",
        "severity": "P1",
        "message": "probe failed",
    }


def _signed_generic(key: str) -> dict[str, Any]:
    return {"alerts": [{"host": key, "check": "disk", "state": "crit", "tags": {"a": 1}}]}


def _signature(body: bytes) -> dict[str, str]:
    return {"X-Signature": "sha256=" + hmac_sha256_hex(SIGNED_SECRET, body)}


ALERT = ("alerts", 0)
SOURCES = {
    s.name: s
    for s in (
        Source(
            "alertmanager",
            "/hooks/alertmanager",
            _alertmanager,
            lambda _: bearer(AM_TOKEN),
            (
                (*ALERT, "annotations", "summary"),
                (*ALERT, "annotations", "description"),
                (*ALERT, "labels", "alertname"),
                (*ALERT, "labels", "region"),
            ),
        ),
        Source(
            "pagerduty",
            "/hooks/pagerduty",
            _pagerduty,
            lambda body: pagerduty_headers(body, "pd-secret-new-0002"),
            (("event", "data", "title"), ("event", "data", "service", "summary")),
            signs=True,
        ),
        Source(
            "grafana",
            "/hooks/grafana",
            lambda key: grafana_message(fingerprint=key),
            grafana_headers,
            (
                (*ALERT, "annotations", "summary"),
                (*ALERT, "labels", "alertname"),
                (*ALERT, "labels", "region"),
            ),
            signs=True,
        ),
        Source(
            "grafana-bearer",
            "/hooks/grafana",
            lambda key: grafana_message(fingerprint=key),
            lambda _: bearer(GRAFANA_TOKEN),
            ((*ALERT, "annotations", "description"),),
        ),
        Source(
            "generic-uptime",
            "/hooks/generic/uptime",
            _uptime,
            lambda _: bearer(UPTIME_TOKEN),
            (("check", "name"), ("message",), ("check", "region")),
        ),
        Source(
            "generic-signed",
            "/hooks/generic/signed",
            _signed_generic,
            _signature,
            ((*ALERT, "check"),),
            signs=True,
        ),
    )
}
PATHS = sorted({s.path for s in SOURCES.values()} | {"/hooks/generic/unknown", "/hooks/x"})


def fresh_key() -> str:
    """Each example's pages are new pages: examples do not dedupe into each other."""
    return uuid.uuid4().hex[:16]


def dump(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def with_text(doc: dict[str, Any], path: Path, text: Any) -> dict[str, Any]:
    node: Any = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = text
    return doc


# -- hostile bodies ------------------------------------------------------------------------


@st.composite
def marked(draw: st.DrawFn, source: Source) -> bytes:
    """A valid delivery with planted markup in one to all of its rendered text fields."""
    doc = source.base(fresh_key())
    fields = draw(st.lists(st.sampled_from(source.text_fields), min_size=1, unique=True))
    for path in fields:
        with_text(doc, path, draw(marked_text))
    return dump(doc)


@st.composite
def oversized_field(draw: st.DrawFn, source: Source) -> bytes:
    """One text field of up to twice the body limit (a 413 beyond it)."""
    doc = source.base(fresh_key())
    size = draw(st.integers(min_value=100, max_value=2 * MAX_BODY))
    text = draw(marked_text) + "é" * size
    return dump(with_text(doc, draw(st.sampled_from(source.text_fields)), text))


@st.composite
def wrong_types(draw: st.DrawFn, source: Source) -> bytes:
    """A text field, or the key the pages hang on, holding another type of JSON value."""
    doc = source.base(fresh_key())
    return dump(with_text(doc, draw(st.sampled_from(source.text_fields)), draw(json_values)))


deep_json = st.builds(
    lambda depth, kind: (
        (b"[" * depth + b"]" * depth)
        if kind == "list"
        else (b'{"a":' * depth + b"1" + b"}" * depth)
    ),
    st.integers(min_value=1, max_value=MAX_BODY // 6),
    st.sampled_from(["list", "dict"]),
)
wide_json = st.builds(
    lambda n: dump({"alerts": [{"labels": {f"l{i}": "v"}} for i in range(n)]}),
    st.integers(min_value=1, max_value=2000),
)


def hostile_bodies(source: Source) -> st.SearchStrategy[bytes]:
    return st.one_of(
        marked(source),
        wrong_types(source),
        oversized_field(source),
        st.builds(fresh_key).flatmap(lambda key: mutated(source.base(key))),
        deep_json,
        wide_json,
        st.binary(max_size=2048),
    )


# -- wrong credentials ---------------------------------------------------------------------

FORGERIES = [
    "none",
    "wrong-bearer",
    "bearer-of-another-source",
    "wrong-basic",
    "wrong-hmac",
    "hmac-of-another-body",
    "stale-grafana",
    "garbage",
]


def forged(how: str, source: Source, body: bytes, garbage: dict[str, bytes]) -> dict[str, Any]:
    """Credentials that must not get `body` in at `source`."""
    other = UPTIME_TOKEN if source.name != "generic-uptime" else AM_TOKEN
    choices: dict[str, dict[str, Any]] = {
        "none": {},
        "wrong-bearer": bearer(AM_TOKEN + "x"),
        "bearer-of-another-source": bearer(other),
        "wrong-basic": basic("alertmanager", "not-the-password"),
        "wrong-hmac": {
            "X-Signature": "sha256=" + "0" * 64,
            "X-PagerDuty-Signature": "v1=" + "0" * 64,
            "X-Grafana-Alerting-Signature": "0" * 64,
        },
        # A valid signature, of the body before someone changed it.
        "hmac-of-another-body": source.credentials(body + b" ") if source.signs else {},
        "stale-grafana": grafana_headers(body, at=time.time() - 3600),
        "garbage": garbage,
    }
    return choices[how]
