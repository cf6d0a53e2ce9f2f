"""Redaction of audit params: what it hides, and that it takes time linear in the text
(free text from outside is redacted on the event loop, see docs/security.md)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.audit.canonical import REDACTED, redact_text

MEGABYTE = 1_000_000
# Linear redaction of 1 MB takes tens of milliseconds; the quadratic one took over an
# hour. The budget is generous so a busy machine does not fail it.
BUDGET_SECONDS = 1.0

# Pieces that made the old patterns backtrack: scheme-like runs, `://`, `:`, `@`, the
# start of a private key, spaces; repeated without the delimiter that ends a match.
FRAGMENTS = st.sampled_from(
    ["://", ":", "@", "/", "a", "Z9", "+.-", " ", "\n", "x:y", "-----BEGIN ", "PRIVATE", "é"]
)


@st.composite
def hostile_megabyte(draw: st.DrawFn) -> str:
    unit = "".join(draw(st.lists(FRAGMENTS, min_size=1, max_size=12)))
    run = draw(st.sampled_from(["", "a" * MEGABYTE, ":" * MEGABYTE, "1" * MEGABYTE]))
    size = draw(st.integers(min_value=MEGABYTE // 2, max_value=MEGABYTE))
    text = (unit * (size // len(unit) + 1))[:size]
    cut = draw(st.integers(min_value=0, max_value=size))
    return (text[:cut] + run + text[cut:])[:MEGABYTE]


@settings(max_examples=40, deadline=None)
@given(hostile_megabyte())
def test_redaction_takes_linear_time_on_hostile_megabytes(text: str) -> None:
    started = time.perf_counter()
    redact_text(text)
    assert time.perf_counter() - started < BUDGET_SECONDS


@pytest.mark.parametrize(
    "shape",
    ["a" * MEGABYTE, "x://" + "a" * MEGABYTE, "a://b:" + "x" * MEGABYTE, "a://a:" * 170_000],
)
def test_the_shapes_that_froze_the_loop_are_redacted_in_time(shape: str) -> None:
    started = time.perf_counter()
    redact_text(shape)
    assert time.perf_counter() - started < BUDGET_SECONDS


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("postgresql://app:pa55word@db:5432/x", f"postgresql://app:{REDACTED}@db:5432/x"),
        # A password with `/` or `:` in it, as SQLAlchemy reads a database URL.
        ("postgresql+psycopg://u:pa/ss@host/db", f"postgresql+psycopg://u:{REDACTED}@host/db"),
        ("redis://:p:w/x@cache:6379", f"redis://:{REDACTED}@cache:6379"),
        (
            "first https://a:one@h1 then s3://b:two@h2/k",
            f"first https://a:{REDACTED}@h1 then s3://b:{REDACTED}@h2/k",
        ),
        ("https://host:8443/path", "https://host:8443/path"),
        ("https://host:8443/a b@c", "https://host:8443/a b@c"),
        ("https://x.example/@me", "https://x.example/@me"),
        ("ftp://user:@host", "ftp://user:@host"),
        ("://u:p@h", "://u:p@h"),
        ("xoxb-123-456", REDACTED),
        ("Bearer abc.def", REDACTED),
        ("-----BEGIN RSA PRIVATE KEY-----\nMII", REDACTED),
        ("a plain note", "a plain note"),
    ],
)
def test_redaction_hides_passwords_and_tokens(text: str, redacted: str) -> None:
    assert redact_text(text) == redacted
