"""Slack user groups resolved for roles: a member of a role's group holds the role, loses
it when Slack says they left the group, and a group that cannot be read is a warning at
start and an error of `check-config --online` (docs/security.md, "User groups")."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from standins.slack import StandInState, start_standin
from tests.conftest import base_config
from tests.harness import USERS, BotHarness

NIGHTS = "S0NIGHTS1"
RESPONDERS = {"users": ["UALICE01", "UBOB0002"]}
AUDITORS = {"responder": RESPONDERS, "auditor": {"usergroups": [NIGHTS]}}


def standin_with_nights(*members: str) -> StandInState:
    state = StandInState()
    state.add_usergroup(NIGHTS, members)
    return state


async def test_a_role_held_through_a_user_group_is_lost_when_slack_says_they_left(
    db_url: str,
) -> None:
    state = standin_with_nights(USERS["dave"])
    async with BotHarness(db_url, standin=state, roles=AUDITORS) as h:
        rt = h.bot.runtime
        await h.wait_for(lambda: rt.usergroups.members_of(NIGHTS))
        # dave is named nowhere in `roles:`; the group makes him an auditor.
        await h.command("dave", "/audit verify")
        granted = await h.wait_for_response("dave")
        assert "You may not" not in granted.text
        # Someone takes dave out of the group in Slack; Slack tells the bot.
        state.add_usergroup(NIGHTS, [])
        await h.sender.event(
            {
                "type": "subteam_members_changed",
                "subteam_id": NIGHTS,
                "team_id": "T0DEMO001",
                "added_users": [],
                "removed_users": [USERS["dave"]],
            }
        )
        await h.quiet()
        await h.command("dave", "/audit verify")
        refused = await h.wait_for_response("dave", count=2)
        assert refused.text == "You may not `audit.verify`: it needs the role *auditor*."


async def test_when_slack_cannot_answer_the_events_removal_still_counts(db_url: str) -> None:
    state = standin_with_nights(USERS["dave"], USERS["carol"])
    async with BotHarness(db_url, standin=state, roles=AUDITORS) as h:
        rt = h.bot.runtime
        await h.wait_for(lambda: rt.usergroups.members_of(NIGHTS))
        state.set_fault("error_5xx", methods=["usergroups.users.list"])
        await h.sender.event(
            {
                "type": "subteam_members_changed",
                "subteam_id": NIGHTS,
                "added_users": [],
                "removed_users": [USERS["dave"]],
            }
        )
        await h.quiet()
        assert rt.usergroups.members_of(NIGHTS) == {USERS["carol"]}


async def test_a_group_that_cannot_be_read_is_a_warning_at_start_and_grants_nothing(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "bot.permissions.usergroups")
    roles = {"responder": RESPONDERS, "auditor": {"usergroups": ["S0GONE001"]}}
    async with BotHarness(db_url, roles=roles) as h:
        warned = await h.wait_for(
            lambda: [r.getMessage() for r in caplog.records if "S0GONE001" in r.getMessage()]
        )
        assert "no_such_subteam" in warned[0] and "grants nothing" in warned[0]
        await h.command("dave", "/audit verify")
        assert (await h.wait_for_response("dave")).text.startswith("You may not")


# -- check-config --online: the CLI runs its own event loop, so the stand-in runs in another


@pytest.fixture
def standin_url() -> Iterator[tuple[str, StandInState]]:
    loop = asyncio.new_event_loop()
    state = StandInState()
    started = threading.Event()
    stop = asyncio.Event()
    found: list[str] = []

    async def serve() -> None:
        server, _ = await start_standin(state=state)
        found.append(server.url)
        started.set()
        await stop.wait()
        await server.stop()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(10)
    yield found[0], state
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    loop.close()


def _config_file(tmp_path: Path, url: str, groups: list[str]) -> Path:
    auditor = {"users": ["UCAROL03"], "usergroups": groups}
    raw = base_config(roles={"responder": RESPONDERS, "auditor": auditor})
    raw["slack"]["api_url"] = url + "/api/"
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_check_config_online_reads_every_group(
    tmp_path: Path, standin_url: tuple[str, StandInState], capsys: pytest.CaptureFixture[str]
) -> None:
    url, state = standin_url
    state.add_usergroup(NIGHTS, ["UDAVE004"])
    good = _config_file(tmp_path, url, [NIGHTS])
    assert main(["check-config", "--config", str(good), "--online"]) == 0
    bad = _config_file(tmp_path, url, [NIGHTS, "S0GONE001"])
    # Offline the config is valid; online the missing group is an error.
    assert main(["check-config", "--config", str(bad)]) == 0
    capsys.readouterr()
    assert main(["check-config", "--config", str(bad), "--online"]) == 1
    err = capsys.readouterr().err
    assert "error: user group S0GONE001 cannot be read (no_such_subteam)" in err
    assert NIGHTS not in err
    state.scopes.discard("usergroups:read")
    assert main(["check-config", "--config", str(good), "--online"]) == 1
    assert "`usergroups:read` scope" in capsys.readouterr().err
