"""Rotations that follow a PagerDuty schedule, against the PagerDuty stand-in over HTTP:
who is on call now and next, the cache, PagerDuty down or refusing, paging, handoffs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config import ConfigError, parse_config
from bot.incidents.opening import Mentions
from bot.oncall.config import Rotation
from bot.oncall.handoff_posting import post_handoff
from bot.oncall.pagerduty import PagerDutyRosters, ScheduleUnavailable
from integrations.pagerduty import PagerDutyOncalls
from standins.loopback import LoopbackServer
from standins.pagerduty import StandInState, start_standin
from tests.conftest import base_config
from tests.harness import BotHarness
from tests.incident_helpers import Clock

SCHEDULE = "PSCHED01"
T = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
BOB_FROM, ALICE_FROM, DANA_FROM, DANA_UNTIL = (T + timedelta(hours=h) for h in (-13, -1, 11, 23))


@pytest.fixture
async def pagerduty() -> AsyncIterator[tuple[LoopbackServer, StandInState]]:
    server, state = await start_standin()
    # Bob, then Alice (on call at T), then Dana, who has no Slack id in app.yaml.
    state.add_oncall(SCHEDULE, "PBOB0001", "Bob B", "bob@example.com", BOB_FROM, ALICE_FROM)
    state.add_oncall(SCHEDULE, "PALICE01", "Alice A", "Alice@Example.com", ALICE_FROM, DANA_FROM)
    state.add_oncall(SCHEDULE, "PDANA001", "Dana D", "dana@example.com", DANA_FROM, DANA_UNTIL)
    # Another team's schedule at the same time: never shown for ours.
    state.add_oncall("POTHER01", "PERIN001", "Erin E", "erin@example.com", BOB_FROM, DANA_UNTIL)
    yield server, state
    await server.stop()


def rotation_config(server: LoopbackServer, token: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "platform",
        "channel": "C0ONCALL2",
        "source": "pagerduty",
        "timezone": "Europe/Berlin",
        "pagerduty": {
            "schedule_id": SCHEDULE,
            "token": token,
            "base_url": server.url,
            # Alice by her login email (any case), Bob by his PagerDuty user id.
            "users": {"alice@example.com": "UALICE01", "PBOB0001": "UBOB0002"},
            "cache_seconds": 300,
            **extra,
        },
    }


def rotation(server: LoopbackServer, token: str) -> Rotation:
    return Rotation.model_validate(rotation_config(server, token))


def pagerduty_bot(
    db_url: str, server: LoopbackServer, state: StandInState, clock: Clock | None = None
) -> BotHarness:
    """The bot whose one rotation, `platform`, follows the stand-in's schedule."""
    oncall = {"rotations": [rotation_config(server, state.api_token)]}
    return BotHarness(db_url, clock=clock or Clock(T), oncall=oncall)


async def test_who_is_on_call_now_and_next_comes_from_pagerduty(
    db_url: str, pagerduty: tuple[LoopbackServer, StandInState]
) -> None:
    server, state = pagerduty
    async with pagerduty_bot(db_url, server, state) as h:
        await h.command("carol", "/oncall who platform")
        reply = await h.wait_for_response("carol")
        # 23:00 and 11:00 UTC are midnight and noon in Berlin.
        assert reply.text == (
            "*platform*: <@UALICE01> is on call until Fri 27 Nov 00:00 CET; "
            "next *Dana D* until Fri 27 Nov 12:00 CET."
        )
        # A new incident routed to the rotation mentions whoever PagerDuty says.
        async with h.bot.runtime.sessions() as session:
            assert await Mentions(h.bot.runtime, session, T).on_call("platform") == "UALICE01"
            # `who`, the mention and the handoff job shared one request to PagerDuty.
            assert state.oncall_requests == 1
            later = T + timedelta(hours=12)
            # Dana is on call then, but without a Slack id nobody can be mentioned.
            assert await Mentions(h.bot.runtime, session, later).on_call("platform") is None
        await h.command("bob", "/oncall override @UCAROL03 2h")
        refused = await h.wait_for_response("bob")
        assert "follows a PagerDuty schedule: set the override in PagerDuty" in refused.text


async def test_answers_are_cached_for_cache_seconds(
    pagerduty: tuple[LoopbackServer, StandInState],
) -> None:
    server, state = pagerduty
    rosters, platform = PagerDutyRosters(), rotation(server, state.api_token)
    first = await rosters.roster(platform, T)
    assert [s.scheduled for s in first.shifts] == ["UBOB0002", "UALICE01", "Dana D"]
    # Callers at the same moment share one request.
    await asyncio.gather(*(rosters.roster(platform, T + timedelta(seconds=10)) for _ in range(5)))
    await rosters.roster(platform, T + timedelta(seconds=299))
    assert state.oncall_requests == 1
    again = await rosters.roster(platform, T + timedelta(seconds=300))
    assert state.oncall_requests == 2
    assert again.stale is None


async def test_pagerduty_down_serves_the_last_answer_marked_stale(
    db_url: str, pagerduty: tuple[LoopbackServer, StandInState]
) -> None:
    server, state = pagerduty
    clock = Clock(T)
    async with pagerduty_bot(db_url, server, state, clock) as h:
        await h.command("carol", "/oncall who")
        assert "<@UALICE01> is on call" in (await h.wait_for_response("carol")).text
        state.fail_next_oncalls(503)
        clock.advance(minutes=10)
        await h.command("carol", "/oncall who")
        stale = await h.wait_for_response("carol", count=2)
        assert "<@UALICE01> is on call" in stale.text
        assert "From PagerDuty 10 min ago; PagerDuty is not answering (GET /oncalls: HTTP 503)" in (
            stale.text
        )
        # PagerDuty is not asked again for half a minute after a failure.
        await h.command("carol", "/oncall who")
        await h.wait_for_response("carol", count=3)
        assert state.oncall_requests == 2
        # Back: the next answer is fresh again.
        clock.advance(seconds=30)
        await h.command("carol", "/oncall who")
        fresh = await h.wait_for_response("carol", count=4)
        assert "From PagerDuty" not in fresh.text
        assert state.oncall_requests == 3


async def test_pagerduty_unreachable_with_nothing_cached_says_so(db_url: str) -> None:
    server, state = await start_standin()
    await server.stop()  # nothing listens there any more: connection refused
    async with pagerduty_bot(db_url, server, state) as h:
        await h.command("carol", "/oncall who")
        reply = await h.wait_for_response("carol")
        assert reply.text.startswith(
            "I cannot tell who is on call for `platform`: PagerDuty is not answering "
            "(GET /oncalls: ConnectError), and I have no earlier answer"
        )
        # The handoff job skips the rotation instead of failing.
        assert await post_handoff(h.bot.runtime, h.config.oncall.rotations[0], T) is False


async def test_a_refused_token_is_said_plainly(
    pagerduty: tuple[LoopbackServer, StandInState],
) -> None:
    server, state = pagerduty
    with pytest.raises(ScheduleUnavailable) as refused:
        await PagerDutyRosters().roster(rotation(server, "u+wrong-token"), T)
    assert "PagerDuty refused the API token" in str(refused.value)
    assert "u+wrong-token" not in str(refused.value)
    assert state.oncall_requests == 1


async def test_every_page_of_on_calls_is_read(
    pagerduty: tuple[LoopbackServer, StandInState],
) -> None:
    server, state = pagerduty
    for day in range(1, 5):
        start = DANA_UNTIL + timedelta(days=day - 1)
        state.add_oncall(SCHEDULE, f"PUSER00{day}", f"User {day}", "", start, start + timedelta(1))
    async with PagerDutyOncalls(state.api_token, base_url=server.url, page_size=2) as api:
        entries = await api.list_oncalls(
            schedule_id=SCHEDULE, since=T - timedelta(days=2), until=T + timedelta(days=14)
        )
    assert [e.user.id for e in entries] == [
        "PBOB0001", "PALICE01", "PDANA001", "PUSER001", "PUSER002", "PUSER003", "PUSER004"
    ]  # fmt: skip
    assert entries[1].user.email == "Alice@Example.com"  # full users: include[]=users
    assert state.oncall_requests == 4  # 2 + 2 + 2 + 1


async def test_the_handoff_follows_pagerduty_shift_changes(
    db_url: str, pagerduty: tuple[LoopbackServer, StandInState]
) -> None:
    server, state = pagerduty
    async with pagerduty_bot(db_url, server, state) as h:
        platform = h.config.oncall.rotations[0]
        # One minute after Bob hands to Alice: posted once, to the channel and to Alice.
        at_alice = ALICE_FROM + timedelta(minutes=1)
        posted = await asyncio.gather(
            *(post_handoff(h.bot.runtime, platform, at_alice) for _ in range(3))
        )
        assert sorted(posted) == [False, False, True]
        channel = await h.wait_for(lambda: h.state.messages("C0ONCALL2"))
        assert "<@UBOB0002> hands over to <@UALICE01>" in repr(channel[0].blocks)
        assert "Shift Thu 26 Nov 00:00 CET → Thu 26 Nov 12:00 CET" in repr(channel[0].blocks)
        await h.wait_for(lambda: h.state.messages("DALICE01"))
        # Alice to Dana: Dana has no Slack id, so the channel hears it and nobody gets a DM.
        at_dana = DANA_FROM + timedelta(minutes=20)
        assert await post_handoff(h.bot.runtime, platform, at_dana)
        both = await h.wait_for(lambda: (m := h.state.messages("C0ONCALL2"))[1:] and m)
        text = repr(both[1].blocks)
        assert "<@UALICE01> hands over to *Dana D*" in text
        assert "posted late" in text
        # Before the first known shift change there is nothing to hand over.
        assert await post_handoff(h.bot.runtime, platform, BOB_FROM + timedelta(minutes=1)) is False


def test_pagerduty_rotations_are_checked_with_their_yaml_paths() -> None:
    def problems(rotation: dict[str, Any], env: dict[str, str] | None = None) -> list[str]:
        with pytest.raises(ConfigError) as err:
            parse_config(base_config(oncall={"rotations": [rotation]}), env or {})
        return [f"{path}: {message}" for path, message in err.value.problems]

    base = {"name": "platform", "channel": "C0ONCALL2", "source": "pagerduty"}
    block = {"schedule_id": SCHEDULE, "token": "${PAGERDUTY_API_TOKEN}"}
    assert problems(base) == [
        "oncall.rotations[0]: `source: pagerduty` needs a `pagerduty:` block with schedule_id"
    ]
    assert problems(
        {**base, "members": ["UALICE01"], "pagerduty": block}, {"PAGERDUTY_API_TOKEN": "t"}
    ) == [
        "oncall.rotations[0]: members: not used with `source: pagerduty` "
        "(PagerDuty's schedule decides who is on call and when shifts change)"
    ]
    assert problems({**base, "pagerduty": block}) == [
        "oncall.rotations[0].pagerduty.token: environment variable PAGERDUTY_API_TOKEN is not set"
    ]
    bad = {**block, "token": "${PAGERDUTY_API_TOKEN:-}", "users": {"a@example.com": "alice"}}
    assert problems({**base, "pagerduty": bad}) == [
        "oncall.rotations[0].pagerduty.token: "
        "the PagerDuty API token is empty (set it through ${VAR})",
        "oncall.rotations[0].pagerduty.users: not Slack user ids: a@example.com: alice",
    ]
    assert problems({"name": "db", "channel": "C0ONCALL1"}) == [
        "oncall.rotations[0]: `members` is required (or use `source: pagerduty`)"
    ]
    config = parse_config(
        base_config(oncall={"rotations": [{**base, "pagerduty": block}]}),
        {"PAGERDUTY_API_TOKEN": "s3cret"},
    )
    schedule = config.oncall.rotations[0].pagerduty
    assert schedule is not None
    assert str(schedule.base_url) == "https://api.pagerduty.com/"
    assert "s3cret" not in repr(config)


async def test_page_intake_reads_the_cache_and_never_waits_on_pagerduty(
    pagerduty: tuple[LoopbackServer, StandInState],
) -> None:
    server, state = pagerduty
    rosters, platform = PagerDutyRosters(), rotation(server, state.api_token)
    # Nothing fetched yet: intake learns it cannot tell, and PagerDuty is not asked.
    with pytest.raises(ScheduleUnavailable, match="not been fetched yet"):
        rosters.cached_roster(platform, T)
    assert state.oncall_requests == 0
    await rosters.roster(platform, T)
    assert rosters.cached_roster(platform, T + timedelta(seconds=10)).on_call(T) == "UALICE01"
    # Past cache_seconds the answer is still served, marked stale, and still not re-asked.
    stale = rosters.cached_roster(platform, T + timedelta(seconds=400))
    assert stale.stale is not None and stale.stale.age == timedelta(seconds=400)
    assert state.oncall_requests == 1


async def test_every_replica_warms_its_cache_at_start(
    db_url: str, pagerduty: tuple[LoopbackServer, StandInState]
) -> None:
    server, state = pagerduty
    async with pagerduty_bot(db_url, server, state) as h:
        # No command yet: the bot fetched the schedule itself, so the first page's
        # mention comes from the cache without a PagerDuty call in the intake transaction.
        platform = h.bot.runtime.config.oncall.rotations[0]
        pagerduty_cache = h.bot.runtime.rosters.pagerduty

        def warmed() -> bool:
            # The request is counted when PagerDuty receives it, before the answer is cached.
            with contextlib.suppress(ScheduleUnavailable):
                return pagerduty_cache.cached_roster(platform, T) is not None
            return False

        await h.wait_for(warmed)
        async with h.bot.runtime.sessions() as session:
            assert await Mentions(h.bot.runtime, session, T).on_call("platform") == "UALICE01"
        assert state.oncall_requests == 1
