"""The selector grammar (integrations/fleet/selector.py): examples that name the rules, and
properties over generated input: any text parses or fails with `SelectorError`, a parsed
selector prints back to itself, and versions order as versions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.fleet.find import csv_cell
from bot.fleet.targets import target_digest
from integrations.fleet.models import ServiceSummary
from integrations.fleet.selector import (
    FIELDS,
    MAX_TERMS,
    MAX_TEXT,
    OPS,
    SelectorError,
    parse_selector,
    parse_version,
)


def service(**fields: object) -> ServiceSummary:
    base: dict[str, object] = {
        "name": "pg-orders-7",
        "kind": "postgres",
        "region": "us-east-1",
        "health": "degraded",
        "plan": "hobby",
        "version": "16.3",
        "tags": {"team": "payments"},
    }
    return ServiceSummary.model_validate({**base, **fields})


def test_the_issue_s_example_reads_and_matches_a_service_that_fits_it() -> None:
    text = (
        "engine=postgres region=us-east-1 version<16.4 health=degraded plan=hobby "
        "tag:team=payments incident=INC-42 name~pg-orders-*"
    )
    selector = parse_selector(text)
    assert str(selector) == text
    assert [t.field for t in selector.incident_terms] == ["incident"]
    assert selector.incident_terms[0].incident_id == 42
    assert selector.matches(service())
    for changed in (
        {"kind": "redis"},
        {"region": "eu-west-1"},
        {"version": "16.4"},
        {"health": "healthy"},
        {"plan": "startup-4"},
        {"tags": {"team": "growth"}},
        {"name": "pg-billing-1"},
    ):
        assert not selector.matches(service(**changed)), changed


@pytest.mark.parametrize(
    ("older", "newer"),
    [("16.4", "16.10"), ("7.2.5", "7.10"), ("9", "10"), ("15.8", "16"), ("3.7.1", "3.8.0")],
)
def test_versions_compare_as_versions_not_strings_or_floats(older: str, newer: str) -> None:
    assert parse_selector(f"version<{newer}").matches(service(version=older))
    assert not parse_selector(f"version<{older}").matches(service(version=newer))
    assert parse_selector(f"version>={newer}").matches(service(version=newer))


def test_equal_versions_ignore_trailing_zeros_and_unknown_versions_match_only_not_equal() -> None:
    assert parse_selector("version=16.4").matches(service(version="16.4.0"))
    assert not parse_selector("version<99").matches(service(version=None))
    assert not parse_selector("version=16.4").matches(service(version=None))
    assert parse_selector("version!=16.4").matches(service(version=None))
    assert not parse_selector("version<17").matches(service(version="16beta2"))
    assert parse_selector("tag:owner!=x").matches(service())  # no such tag: not equal


@pytest.mark.parametrize(
    ("text", "term", "why"),
    [
        ("engine=postgres colour=blue", "colour=blue", "unknown field colour"),
        ("version<sixteen", "version<sixteen", "not a version"),
        ("region<us-east-1", "region<us-east-1", "compares versions only"),
        ("name=pg-*", "name=pg-*", "wildcards need ~"),
        ("region=", "region=", "no value"),
        ("engine", "engine", "expected field, operator and value"),
        ("engine!postgres", "engine!postgres", "expected one of"),
        ("incident~4*", "incident~4*", "incident=<number>"),
        ("name=<!channel>", "name=<!channel>", "a value holds"),
        ("tag:=x", "tag:=x", "a tag is tag:<key>"),
    ],
)
def test_a_bad_term_is_named_with_why(text: str, term: str, why: str) -> None:
    with pytest.raises(SelectorError) as caught:
        parse_selector(text)
    assert caught.value.term == term
    assert why in caught.value.why


def test_the_bounds_hold() -> None:
    with pytest.raises(SelectorError, match="at most"):
        parse_selector(" ".join(["engine=postgres"] * (MAX_TERMS + 1)))
    with pytest.raises(SelectorError, match="at most"):
        parse_selector("name~" + "a" * MAX_TEXT)
    with pytest.raises(SelectorError, match="empty"):
        parse_selector("   ")
    with pytest.raises(SelectorError, match="wildcards"):
        parse_selector("name~" + "*a" * 9)


@given(st.text(max_size=300))
def test_any_text_parses_or_is_refused_with_a_selector_error(text: str) -> None:
    try:
        selector = parse_selector(text)
    except SelectorError as exc:
        assert str(exc)
        return
    assert 1 <= len(selector.terms) <= MAX_TERMS
    selector.matches(service())  # and matching never raises


_FIELD = st.sampled_from([f for f in FIELDS if f != "incident"] + ["tag:team"])
_VALUE = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)
_VERSION = st.lists(st.integers(0, 99), min_size=1, max_size=4).map(
    lambda parts: ".".join(map(str, parts))
)


@st.composite
def _terms(draw: st.DrawFn) -> str:
    field = draw(_FIELD)
    if field == "version":
        return f"version{draw(st.sampled_from([o for o in OPS if o != '~']))}{draw(_VERSION)}"
    return f"{field}{draw(st.sampled_from(['=', '!=', '~']))}{draw(_VALUE)}"


@given(st.lists(_terms(), min_size=1, max_size=MAX_TERMS))
def test_a_parsed_selector_prints_back_to_the_same_selector(terms: list[str]) -> None:
    selector = parse_selector(" ".join(terms))
    assert parse_selector(str(selector)) == selector
    assert str(selector) == " ".join(terms)


@given(_VERSION, _VERSION)
def test_version_order_is_the_order_of_the_numbers(a: str, b: str) -> None:
    left, right = parse_version(a), parse_version(b)
    assert left is not None and right is not None
    width = max(len(left), len(right))
    as_numbers = (left + (0,) * (width - len(left)), right + (0,) * (width - len(right)))
    assert parse_selector(f"version<{b}").matches(service(version=a)) == (
        as_numbers[0] < as_numbers[1]
    )
    assert parse_selector(f"version={b}").matches(service(version=a)) == (
        as_numbers[0] == as_numbers[1]
    )


@pytest.mark.parametrize("danger", ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(danger: str) -> None:
    assert csv_cell(danger) == "'" + danger
    assert csv_cell("pg-orders") == "pg-orders"


def test_the_target_digest_is_the_same_in_any_order_and_differs_for_another_set() -> None:
    assert target_digest(["b", "a", "c"]) == target_digest(["c", "b", "a"])
    assert target_digest(["a", "b"]) != target_digest(["a", "b", "c"])
    assert target_digest(["ab"]) != target_digest(["a", "b"])
