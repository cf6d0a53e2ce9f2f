"""Rate controls and the `campaigns:` section: strict parsing with the word named, waves
resolved against the target count, the ramp, and config errors with their path."""

from __future__ import annotations

from typing import Any

import pytest

from bot.campaigns.plan import campaign_actions
from bot.campaigns.rate import (
    Amount,
    RateCaps,
    RateDefaults,
    RateError,
    parse_rate_controls,
    ramp,
    wave_ends,
)
from bot.config import ConfigError, parse_config
from commands.fleet_campaign import split_words
from tests.conftest import base_config

CAPS = RateCaps(max_concurrency=500, max_bake_seconds=7200)


def parse(**words: str) -> Any:
    return parse_rate_controls(words, defaults=RateDefaults(), caps=CAPS)


def test_defaults_and_typed_values_resolve_against_the_target_count() -> None:
    rate = parse(concurrency="5%", max_errors="1%", waves="1,10%,100%", bake="90s")
    resolved = rate.resolve(2_000, max_concurrency=500)
    assert (resolved.concurrency, resolved.max_errors) == (100, 20)
    assert resolved.wave_ends == (1, 200, 2_000)
    assert resolved.bake_seconds == 90
    assert rate.canonical() == {
        "concurrency": "5%", "max_errors": "1%", "waves": "1,10%,100%", "bake": "90s"
    }  # fmt: skip
    # A percentage of a small fleet is still at least one target, and held to the cap.
    assert parse(concurrency="5%").resolve(3, max_concurrency=500).concurrency == 1
    assert parse(concurrency="100%").resolve(9_000, max_concurrency=40).concurrency == 40


@pytest.mark.parametrize(
    ("words", "named"),
    [
        ({"concurrency": "fifty"}, "concurrency=fifty"),
        ({"concurrency": "0"}, "concurrency=0"),
        ({"concurrency": "501"}, "at most 500"),
        ({"max_errors": "101%"}, "at most 100%"),
        ({"waves": "1,,100%"}, "waves="),
        ({"waves": ",".join(["1"] * 11)}, "at most 10 waves"),
        ({"bake": "5 minutes"}, "bake=5 minutes"),
        ({"bake": "3h"}, "at most 2h"),
        ({"retries": "3"}, "not a rate control"),
    ],
)
def test_a_bad_rate_control_is_refused_naming_it(words: dict[str, str], named: str) -> None:
    with pytest.raises(RateError, match=named):
        parse(**words)


def test_a_rate_control_given_twice_is_refused_and_the_rest_is_the_selector() -> None:
    selector, rate = split_words(["engine=postgres", "bake=0", "region=eu-west-1"])
    assert selector == ["engine=postgres", "region=eu-west-1"] and rate == {"bake": "0"}
    with pytest.raises(RateError, match="twice"):
        split_words(["bake=0", "BAKE=5m"])


def test_waves_add_someone_each_and_the_last_reaches_everyone() -> None:
    waves = (Amount(1), Amount(1, True), Amount(10, True), Amount(100, True))
    assert wave_ends(waves, 50) == (1, 5, 50)  # 1% of 50 adds nobody after the first
    assert wave_ends((Amount(10, True),), 30) == (3, 30)
    assert wave_ends(waves, 1) == (1,)


def test_the_ramp_doubles_as_targets_end_up_to_the_limit() -> None:
    assert [ramp(50, done) for done in (0, 1, 2, 3, 7, 15, 31, 63, 1000)] == [
        1, 2, 2, 4, 8, 16, 32, 50, 50
    ]  # fmt: skip
    assert ramp(3, 100) == 3


def test_pause_and_resume_are_the_campaigns_own_words_not_its_actions() -> None:
    actions = campaign_actions()
    assert "restart" in actions and "rotate-credentials" in actions
    assert not {"pause", "resume", "replace", "maintenance", "cancel"} & set(actions)


@pytest.mark.parametrize(
    ("section", "said"),
    [
        ({"defaults": {"waves": "1,0%"}}, "campaigns: defaults: `waves=0%`"),
        ({"start_roles": ["operators"]}, "unknown role(s) operators"),
        ({"approvals": 0}, "campaigns.approvals"),
        ({"max_concurrency": 0}, "campaigns.max_concurrency"),
        ({"tick": 1}, "campaigns.tick"),
    ],
)
def test_the_campaigns_section_is_validated_with_its_path(
    section: dict[str, Any], said: str
) -> None:
    roles = {"responder": {"users": ["UALICE01"]}, "auditor": {"users": ["UCAROL03"]}}
    raw = base_config(roles=roles, campaigns=section)
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, {})
    assert said in str(caught.value)


def test_audit_export_takes_only_a_campaign_id_for_campaign() -> None:
    import argparse

    from bot.cli.audit import campaign_id

    assert campaign_id("cmp-0123abcd") == "cmp-0123abcd"
    for bad in ("cmp-%", "cmp-0123abc_", "0123abcd", "cmp-0123ABCD"):
        with pytest.raises(argparse.ArgumentTypeError):
            campaign_id(bad)
