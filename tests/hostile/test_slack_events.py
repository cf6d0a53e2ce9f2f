"""Hostile Events API requests at `/slack/events`: @mentions in incident threads with
generated text from users without a role and from responders, url_verification
challenges, events of every other kind and shape, signed and forged. Every example keeps
the invariants of `HostileRig.attempt`: no 5xx, no state change from a forged request, no
fleet operation for a user without a role."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz_support import json_values, mutated
from tests.harness import CHANNEL, USERS
from tests.hostile.budget import budget
from tests.hostile.checks import controls, marked_text
from tests.hostile.rig import HostileRig
from tests.hostile.slack_requests import (
    FORGERIES,
    RESPONDERS,
    ROLELESS,
    Targets,
    event_body,
    forged,
    prepare_targets,
    signed,
)

JSON = "application/json"
BOT = "<@U0BOT0001>"


@pytest.fixture(scope="module")
def targets(rig: HostileRig) -> Iterator[Targets]:
    yield prepare_targets(rig)


def mention(user: str, text: str, thread: str | None) -> dict[str, Any]:
    event = {
        "type": "app_mention",
        "user": USERS[user],
        "text": f"{BOT} {text}",
        "ts": f"{time.time():.6f}",
        "channel": CHANNEL,
    }
    if thread is not None:
        event["thread_ts"] = thread
    return event


@st.composite
def mentions(draw: st.DrawFn, rig: HostileRig, targets: Targets, user: str) -> dict[str, Any]:
    """`@watchkeeper <subcommand> <hostile args>` in a real incident thread or elsewhere."""
    rt = rig.h.bot.runtime
    group = rt.commands.mention_group or "incident"
    names = [n for s in rt.commands.subcommands(group) for n in (s.name, *s.aliases)]
    words = draw(
        st.lists(marked_text | st.text(max_size=30) | controls | st.sampled_from(["--", BOT]),
                 max_size=4)
    )  # fmt: skip
    text = " ".join([draw(st.sampled_from(names) | st.text(max_size=10)), *words])
    thread = draw(st.sampled_from(targets.threads) | st.none() | st.text(max_size=20))
    return mention(user, text, thread)


@budget(250)
@given(data=st.data(), user=st.sampled_from(ROLELESS))
def test_mentions_from_users_without_a_role(
    rig: HostileRig, targets: Targets, data: st.DataObject, user: str
) -> None:
    body = event_body(data.draw(mentions(rig, targets, user)))
    outcome = rig.attempt(
        "app_mention (no role)", lambda: signed(rig, body, JSON), authenticated=True, roleless=True
    )
    assert outcome.response.status_code == 200, outcome.response.text


@budget(100)
@given(data=st.data(), user=st.sampled_from(RESPONDERS))
def test_mentions_from_responders(
    rig: HostileRig, targets: Targets, data: st.DataObject, user: str
) -> None:
    body = event_body(data.draw(mentions(rig, targets, user)))
    outcome = rig.attempt(
        "app_mention (responder)", lambda: signed(rig, body, JSON), authenticated=True
    )
    assert outcome.response.status_code == 200, outcome.response.text


@budget(200)
@given(data=st.data())
def test_other_and_garbled_events(rig: HostileRig, targets: Targets, data: st.DataObject) -> None:
    challenge = {"type": "url_verification", "token": "t", "challenge": "c"}
    envelope = json.loads(event_body(mention("erin", "ack", targets.threads[0])))
    kind = st.sampled_from(["message", "reaction_added", "app_home_opened", "app_mention", ""])
    body = data.draw(
        mutated(challenge)
        | mutated(envelope)
        | st.builds(lambda k, extra: event_body({**extra, "type": k}),
                    kind | st.text(max_size=10), st.dictionaries(st.text(max_size=8), json_values))
        | st.builds(lambda c: json.dumps({**challenge, "challenge": c}).encode(),
                    marked_text | json_values)
        | st.binary(max_size=512)
    )  # fmt: skip
    outcome = rig.attempt(
        "event (garbled)", lambda: signed(rig, body, JSON), authenticated=True, roleless=True
    )
    assert outcome.response.status_code in (200, 400, 404), outcome.response.text


@budget(120)
@given(
    how=st.sampled_from(FORGERIES),
    user=st.sampled_from(RESPONDERS),
    text=st.sampled_from(["ack", "resolve", "silence 1h", "note x"]),
    challenge=st.booleans(),
)
def test_forged_events_change_nothing(
    rig: HostileRig, targets: Targets, how: str, user: str, text: str, challenge: bool
) -> None:
    body = (
        json.dumps({"type": "url_verification", "token": "t", "challenge": "c"}).encode()
        if challenge
        else event_body(mention(user, text, targets.threads[0]))
    )
    outcome = rig.attempt(
        "event, forged signature", lambda: forged(rig, how, body, JSON), authenticated=False
    )
    assert outcome.response.status_code == 401, outcome.response.text
    assert '"c"' not in outcome.response.text and outcome.response.text != "c"


@budget(30, shrink=False)
@given(verb=st.sampled_from(["note", "assign", "nosuchverb"]), text=marked_text)
@example(verb="note", text="<!channel> see <http://evil.example/login|the runbook>")
def test_mention_text_reaches_slack_as_text(
    rig: HostileRig, targets: Targets, verb: str, text: str
) -> None:
    body = event_body(mention("alice", f"{verb} {text}", targets.threads[0]))
    outcome = rig.attempt(
        "app_mention (markup in text)", lambda: signed(rig, body, JSON), authenticated=True
    )
    assert outcome.markup == [], f"outside markup reached Slack raw: {outcome.markup}"
