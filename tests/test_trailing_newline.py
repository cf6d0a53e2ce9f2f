"""Names and ids are matched whole: `"name\\n"` is refused wherever a name or an id is
validated (with `^...$` and `match`, `$` also matched before a trailing newline)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.actions.catalog import CATALOG, InvalidRequest, check_target, validate_params
from bot.cli.audit import parse_time
from bot.config import ConfigError, parse_config
from bot.incidents.ingest import ingest
from bot.incidents.silences import parse_duration
from bot.registry import CommandError
from bot.slack_ids import is_user_id, mentioned_user, named_user
from commands.audit import parse_recent
from commands.incident import incident_number
from commands.oncall import _until
from standins.slack.directory import Directory
from tests.conftest import base_config
from tests.harness import USERS, BotHarness
from tests.incident_helpers import batch, incidents, page, recorded, roots, settle

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_service_and_member_names_are_matched_whole() -> None:
    assert check_target("pg-orders") == "pg-orders"
    with pytest.raises(InvalidRequest, match="not a service name"):
        check_target("pg-orders\n")
    reinit = CATALOG["reinit"]
    assert validate_params(reinit, {"member": "pg-orders-2"}) == {"member": "pg-orders-2"}
    with pytest.raises(InvalidRequest, match="not a member name"):
        validate_params(reinit, {"member": "pg-orders-2\n"})


def test_incident_ids_are_matched_whole() -> None:
    assert incident_number("#42") == incident_number("42") == 42
    assert incident_number("#42\n") is None and incident_number("42\n") is None


@pytest.mark.parametrize("word", ["U0BOB0002\n", "@U0BOB0002\n", "<@U0BOB0002>\n"])
def test_user_ids_and_mentions_are_matched_whole(word: str) -> None:
    assert named_user(word.rstrip("\n")) == "U0BOB0002"
    assert named_user(word) is None
    assert mentioned_user(word) is None
    assert not is_user_id(word)


def test_audit_recent_takes_a_user_id_with_a_newline_for_no_user() -> None:
    query, _ = parse_recent(["UALICE01"], "/audit")
    assert query.actor == "UALICE01"
    query, _ = parse_recent(["UALICE01\n"], "/audit")
    assert query.actor is None and query.target == "UALICE01\n"
    query, _ = parse_recent(["<@UALICE01>\n"], "/audit")
    assert query.actor is None
    with pytest.raises(CommandError):  # not a page marker, so a second filter
        parse_recent(["pg-orders", "before:5\n"], "/audit")


def test_durations_and_ages_are_matched_whole() -> None:
    assert parse_duration("2h", max_hours=72).total_seconds() == 7200
    with pytest.raises(CommandError):
        parse_duration("2h\n5", max_hours=72)
    assert _until("4h", NOW) == datetime(2026, 3, 1, 4, tzinfo=UTC)
    with pytest.raises(CommandError):
        _until("4h\n", NOW)
    with pytest.raises(argparse.ArgumentTypeError):
        parse_time("7d\n", NOW)


def test_the_slack_stand_in_takes_no_channel_or_user_id_with_a_newline() -> None:
    directory = Directory()
    assert directory.resolve_channel("C0NEW0001") is not None
    assert directory.resolve_channel("C0NEW0002\n") is None


@pytest.mark.parametrize(
    ("section", "value"),
    [
        ({"channels": {"default": "C0DEMO001\n"}}, "channels.default"),
        ({"roles": {"responder": {"users": ["UALICE01\n"]}}}, "roles.responder.users[0]"),
    ],
)
def test_config_ids_are_matched_whole(section: dict[str, Any], value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(base_config(**section), {})
    assert value in dict(caught.value.problems)


async def test_assigning_an_incident_to_a_user_id_with_a_newline_is_refused(
    db_url: str,
) -> None:
    async with BotHarness(db_url) as h:
        rt = h.bot.runtime
        await ingest(rt, batch(page("fp-1")))
        await settle(rt)
        await recorded(rt, "incident:1")
        root = roots(h.state)[0]
        await h.mention("alice", 'assign "UBOB0002\n"', thread_ts=root.ts)
        await h.quiet()
        [incident] = await incidents(rt)
        assert incident.assignee is None
        answers = [e.text for e in h.state.ephemerals(USERS["alice"])]
        assert any("assign [#id] @user" in text for text in answers), answers
