"""Slack request signatures: the documented vector, and hostile headers refused, never a crash."""

from __future__ import annotations

import pytest

from bot.slack_signature import signature_problem
from integrations.slack.signing import sign

# The example from Slack's "Verifying requests from Slack" documentation.
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = "1531420618"
BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
    b"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
    b"command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121"
    b".803a0bc887a14d10d2c447fce8b6703c"
)
EXPECTED = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def headers(timestamp: str = TIMESTAMP, signature: str = EXPECTED) -> dict[str, str]:
    return {"x-slack-request-timestamp": timestamp, "x-slack-signature": signature}


def test_documented_vector_signs_as_slack_says() -> None:
    assert sign(SECRET, TIMESTAMP, BODY) == EXPECTED


def test_documented_vector_verifies() -> None:
    assert signature_problem(SECRET, headers(), BODY, now=float(TIMESTAMP)) is None


@pytest.mark.parametrize("skew", [301, -301, 10_000])
def test_stale_timestamps_are_refused(skew: int) -> None:
    assert (
        signature_problem(SECRET, headers(), BODY, now=float(TIMESTAMP) + skew) == "stale timestamp"
    )


def test_a_timestamp_at_the_edge_is_accepted() -> None:
    assert signature_problem(SECRET, headers(), BODY, now=float(TIMESTAMP) + 300) is None


@pytest.mark.parametrize(
    "bad",
    [
        headers(timestamp=""),
        headers(timestamp="abc"),
        headers(timestamp="9" * 40),
        headers(timestamp="-1531420618"),
        headers(timestamp="1531420618.5"),
        headers(signature=""),
        headers(signature="v0=" + "é" * 64),
        headers(signature="v1=" + EXPECTED[3:]),
        headers(signature=EXPECTED.upper()),
        headers(signature=EXPECTED[:-1] + "0"),
        {},
    ],
)
def test_hostile_headers_are_refused(bad: dict[str, str]) -> None:
    assert signature_problem(SECRET, bad, BODY, now=float(TIMESTAMP)) is not None


def test_tampered_body_is_refused() -> None:
    assert signature_problem(SECRET, headers(), BODY + b"&x=1", now=float(TIMESTAMP)) == (
        "signature mismatch"
    )
