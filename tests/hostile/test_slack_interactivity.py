"""Hostile interactivity payloads at `/slack/events`: clicks on every registered button
with generated and garbled values (naming real incidents and requests, or not), view
submissions, payloads of the wrong shape, signed and forged. Every example keeps the
invariants of `HostileRig.attempt`: no 5xx, no state change from a forged request, no
fleet operation for a user without a role."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz_support import json_values, mutated
from tests.hostile.budget import budget
from tests.hostile.checks import marked_text
from tests.hostile.rig import HostileRig
from tests.hostile.slack_requests import (
    FORGERIES,
    RESPONDERS,
    ROLELESS,
    Targets,
    click_payload,
    forged,
    form,
    prepare_targets,
    signed,
    user_names,
    view_submission,
)

ACTIONS = ["restart", "switchover", "failover", "reinit", "resume", "pause", "x"]


@pytest.fixture(scope="module")
def targets(rig: HostileRig) -> Iterator[Targets]:
    yield prepare_targets(rig)


@st.composite
def clicks(draw: st.DrawFn, rig: HostileRig, targets: Targets, user: str) -> dict[str, Any]:
    """A click on a registered button (or a near miss) with a value that names a real
    incident, storm or request, a suggested action, or anything."""
    prefixes = rig.h.bot.runtime.buttons.prefixes()
    ids = [*targets.incidents, *targets.requests, 0, -1, 10**30]
    verbs = ["ack", "resolve", "silence:1h", "silence:99999h", "act:restart", "resolve-all", ""]
    suffix = draw(
        st.sampled_from(verbs) | st.sampled_from(list(map(str, ids))) | st.text(max_size=20)
    )
    action_id = f"{draw(st.sampled_from(prefixes) | st.text(max_size=10))}:{suffix}"
    suggested = st.builds(
        lambda incident, action, params: json.dumps(
            {"incident": incident, "action": action, "params": params}
        ),
        st.sampled_from(ids) | json_values,
        st.sampled_from(ACTIONS) | marked_text,
        st.dictionaries(st.text(max_size=8), json_values, max_size=3) | json_values,
    )
    value = draw(
        st.sampled_from(list(map(str, ids))) | suggested | marked_text | st.text(max_size=60)
        | json_values.map(json.dumps)
    )  # fmt: skip
    thread = draw(st.none() | st.sampled_from(targets.threads) | st.text(max_size=20))
    return click_payload(rig, user, draw(user_names), action_id, value, thread)


@budget(350)
@given(data=st.data(), user=st.sampled_from(ROLELESS))
@example(data=None, user="dave")  # a suggested restart on a real incident, from no role
def test_clicks_from_users_without_a_role(
    rig: HostileRig, targets: Targets, data: st.DataObject | None, user: str
) -> None:
    if data is None:
        value = json.dumps({"incident": targets.incidents[0], "action": "restart"})
        payload = click_payload(rig, user, user, "incident:act:restart", value, targets.threads[0])
    else:
        payload = data.draw(clicks(rig, targets, user))
    body = form(payload)
    outcome = rig.attempt(
        "button click (no role)", lambda: signed(rig, body), authenticated=True, roleless=True
    )
    assert outcome.response.status_code == 200, outcome.response.text


@budget(150)
@given(data=st.data(), user=st.sampled_from(RESPONDERS))
def test_clicks_from_responders(
    rig: HostileRig, targets: Targets, data: st.DataObject, user: str
) -> None:
    body = form(data.draw(clicks(rig, targets, user)))
    outcome = rig.attempt("button click (responder)", lambda: signed(rig, body), authenticated=True)
    assert outcome.response.status_code == 200, outcome.response.text


@pytest.fixture(scope="module")
def garble_bases(rig: HostileRig, targets: Targets) -> dict[tuple[str, str], dict[str, Any]]:
    """The payloads garbled below, built once: a fresh trigger id or timestamp per example
    would change their length, and hypothesis replays need the same draws to mean the
    same thing."""
    return {
        (user, kind): (
            view_submission(user, user, {"b": {"a": {"value": "x"}}}, "wk")
            if kind == "view"
            else click_payload(rig, user, user, "act-confirm:" + targets.requests[0], "1", None)
        )
        for user in (*ROLELESS, *RESPONDERS)
        for kind in ("click", "view")
    }


@budget(150)
@given(data=st.data(), user=st.sampled_from([*ROLELESS, *RESPONDERS]))
def test_view_submissions_and_garbled_payloads(
    rig: HostileRig,
    garble_bases: dict[tuple[str, str], dict[str, Any]],
    data: st.DataObject,
    user: str,
) -> None:
    base = garble_bases[user, data.draw(st.sampled_from(["click", "view"]))]
    body = data.draw(
        mutated(base).map(lambda raw: form(json.loads(raw)) if _json(raw) else b"payload=" + raw)
        | st.builds(lambda doc: form(doc), json_values)
        | st.builds(lambda values, callback: form(view_submission(user, user, values, callback)),
                    json_values, st.text(max_size=20))
    )  # fmt: skip
    outcome = rig.attempt(
        "interactivity payload (garbled)",
        lambda: signed(rig, body),
        authenticated=True,
        roleless=user in ROLELESS,
    )
    assert outcome.response.status_code in (200, 400, 404), outcome.response.text


def _json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


@budget(120)
@given(data=st.data(), how=st.sampled_from(FORGERIES), user=st.sampled_from(RESPONDERS))
def test_forged_clicks_change_nothing(
    rig: HostileRig, targets: Targets, data: st.DataObject, how: str, user: str
) -> None:
    # A responder's Confirm of a real request: what a forger would most like to send.
    real = click_payload(rig, user, user, "act-confirm:" + targets.requests[0], "1", None)
    body = form(data.draw(st.just(real) | clicks(rig, targets, user)))
    outcome = rig.attempt(
        "button click, forged signature", lambda: forged(rig, how, body), authenticated=False
    )
    assert outcome.response.status_code == 401, outcome.response.text
