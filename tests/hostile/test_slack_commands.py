"""Hostile slash commands at `/slack/events`: every registered command, with generated
text, from users without a role and from responders, signed and forged. Every example
keeps the invariants of `HostileRig.attempt`: no 5xx, no state change from a forged
request, no fleet operation for a user without a role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.hostile.budget import budget
from tests.hostile.checks import controls, marked_text
from tests.hostile.rig import MAX_BODY, HostileRig
from tests.hostile.slack_requests import (
    FORGERIES,
    RESPONDERS,
    ROLELESS,
    Targets,
    command_body,
    forged,
    prepare_targets,
    signed,
    user_names,
)


@pytest.fixture(scope="module")
def targets(rig: HostileRig) -> Iterator[Targets]:
    yield prepare_targets(rig)


@st.composite
def command_lines(draw: st.DrawFn, rig: HostileRig, targets: Targets) -> tuple[str, str]:
    """A registered command and subcommand (or a near miss), then hostile arguments that
    sometimes name real incidents, services and requests."""
    rt = rig.h.bot.runtime
    group = draw(st.sampled_from(rt.commands.groups()))
    names = [n for s in rt.commands.subcommands(group) for n in (s.name, *s.aliases)]
    word = draw(st.sampled_from(names) | st.text(max_size=12))
    real = [*map(str, targets.incidents), *targets.services, *targets.requests, "--", "-- why"]
    args = draw(
        st.lists(
            st.sampled_from(real) | marked_text | st.text(max_size=40) | controls
            | st.sampled_from(["member=pg-orders-1", "force=true", "for=1h", "<@UBOB0002>"]),
            max_size=5,
        )
    )  # fmt: skip
    text = " ".join([word, *args])
    if draw(st.integers(0, 20)) == 0:  # now and then a text Slack itself would never send
        text += "x" * draw(st.integers(0, MAX_BODY))
    return rt.command_name(group), text


@budget(400)
@given(data=st.data(), user=st.sampled_from(ROLELESS), name=user_names)
def test_every_command_from_users_without_a_role(
    rig: HostileRig, targets: Targets, data: st.DataObject, user: str, name: str
) -> None:
    command, text = data.draw(command_lines(rig, targets))
    body = command_body(rig, user, command, text, name)
    outcome = rig.attempt(
        f"{command} (no role)", lambda: signed(rig, body), authenticated=True, roleless=True
    )
    assert outcome.response.status_code in (200, 413), outcome.response.text


@budget(200)
@given(data=st.data(), user=st.sampled_from(RESPONDERS), name=user_names)
def test_every_command_from_responders(
    rig: HostileRig, targets: Targets, data: st.DataObject, user: str, name: str
) -> None:
    command, text = data.draw(command_lines(rig, targets))
    body = command_body(rig, user, command, text, name)
    outcome = rig.attempt(f"{command} (responder)", lambda: signed(rig, body), authenticated=True)
    assert outcome.response.status_code in (200, 413), outcome.response.text


@budget(150)
@given(data=st.data(), how=st.sampled_from(FORGERIES), user=st.sampled_from(RESPONDERS))
def test_forged_commands_change_nothing(
    rig: HostileRig, targets: Targets, data: st.DataObject, how: str, user: str
) -> None:
    command, text = data.draw(command_lines(rig, targets))
    body = command_body(rig, user, command, text, user)
    outcome = rig.attempt(
        "slash command, forged signature", lambda: forged(rig, how, body), authenticated=False
    )
    assert outcome.response.status_code in (401, 413), outcome.response.text


@budget(40, shrink=False)
@given(
    line=st.sampled_from(["/incident note {n} {t}", "/incident new {t}", "/fleet {t}",
                          "/incident silence {n} 1h -- {t}", "/oncall {t}"]),
    text=marked_text,
    name=user_names,
)  # fmt: skip
@example(line="/incident new {t}", text="replica down <!channel>", name="alice")
def test_command_text_reaches_slack_as_text(
    rig: HostileRig, targets: Targets, line: str, text: str, name: str
) -> None:
    command, _, rest = line.format(n=targets.incidents[0], t=text).partition(" ")
    body = command_body(rig, "alice", command, rest, name)
    outcome = rig.attempt(
        f"{command} (markup in text)", lambda: signed(rig, body), authenticated=True
    )
    assert outcome.markup == [], f"outside markup reached Slack raw: {outcome.markup}"
