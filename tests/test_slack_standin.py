"""The Slack stand-in, driven over loopback by the bot's own SlackWebClient."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

import standins.slack as standin
from bot.manifest import BOT_SCOPES
from integrations.slack.errors import SlackApiError, SlackRateLimited, SlackUnavailable
from integrations.slack.web import SlackWebClient
from standins.slack import StandInState, start_standin
from standins.slack.directory import INSTALLED_SCOPES

CHANNEL = "C0DEMO001"
OTHER = "C0DEMO002"
TS = re.compile(r"^\d{10}\.\d{6}$")


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Rig:
    url: str
    state: StandInState
    clock: FakeClock
    slack: SlackWebClient
    http: httpx.AsyncClient  # for the control routes and raw requests

    def client(self, token: str = "xoxb-test", timeout: float = 5.0) -> SlackWebClient:
        return SlackWebClient(token, self.url + "/api/", timeout=timeout)

    async def post(self, text: str = "hello", channel: str = CHANNEL, **extra: Any) -> str:
        answer = await self.slack.call(
            "chat.postMessage", {"channel": channel, "text": text, **extra}
        )
        return str(answer["ts"])

    async def set_fault(self, **spec: Any) -> dict[str, Any]:
        response = await self.http.post("/_standin/faults", json=spec)
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    clock = FakeClock()
    server, state = await start_standin(state=StandInState(clock=clock))
    slack = SlackWebClient("xoxb-test", server.url + "/api/", timeout=5.0)
    http = httpx.AsyncClient(base_url=server.url, timeout=10.0)
    try:
        yield Rig(server.url, state, clock, slack, http)
    finally:
        await slack.aclose()
        await http.aclose()
        await server.stop()


async def api_error(rig: Rig, method: str, payload: dict[str, Any]) -> str:
    with pytest.raises(SlackApiError) as caught:
        await rig.slack.call(method, payload)
    return caught.value.error


# -- messages ---------------------------------------------------------------------------


async def test_post_answers_like_slack_and_stores_the_message(rig: Rig) -> None:
    answer = await rig.slack.call("chat.postMessage", {"channel": CHANNEL, "text": "page: pg down"})

    assert answer["ok"] is True and answer["channel"] == CHANNEL
    assert TS.match(answer["ts"])
    assert answer["message"]["text"] == "page: pg down"
    assert answer["message"]["ts"] == answer["ts"]
    [stored] = rig.state.messages(CHANNEL)
    assert (stored.ts, stored.text, stored.user) == (answer["ts"], "page: pg down", "U0BOT0001")
    assert rig.state.messages(OTHER) == []


async def test_thread_replies_hang_under_their_root_with_increasing_ts(rig: Rig) -> None:
    root = await rig.post("incident opened")
    first = await rig.post("restarting", thread_ts=root)
    second = await rig.post("restarted", thread_ts=root)
    await rig.post("unrelated")

    thread = rig.state.thread(CHANNEL, root)
    assert [m.text for m in thread] == ["incident opened", "restarting", "restarted"]
    assert [m.thread_ts for m in thread] == [None, root, root]
    assert root < first < second
    assert not any(m.orphan for m in thread)


async def test_a_reply_to_a_missing_thread_is_accepted_but_marked_orphan(rig: Rig) -> None:
    await rig.post("lost reply", thread_ts="1111111111.000100")

    [reply] = rig.state.messages(CHANNEL)
    assert reply.orphan is True


async def test_update_replaces_text_keeps_omitted_blocks_and_counts_edits(rig: Rig) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*pg-orders* down"}}]
    ts = await rig.post("pg down", blocks=blocks)

    answer = await rig.slack.call("chat.update", {"channel": CHANNEL, "ts": ts, "text": "pg up"})
    await rig.slack.call("chat.update", {"channel": CHANNEL, "ts": ts, "text": "pg up again"})

    assert answer["ts"] == ts and answer["text"] == "pg up"
    [message] = rig.state.messages(CHANNEL)
    assert (message.text, message.blocks, message.edits) == ("pg up again", blocks, 2)


async def test_update_of_an_unknown_ts_is_message_not_found(rig: Rig) -> None:
    await rig.post()
    payload = {"channel": CHANNEL, "ts": "1234567890.000100", "text": "x"}

    assert await api_error(rig, "chat.update", payload) == "message_not_found"


async def test_ephemeral_answers_message_ts_and_is_kept_per_user(rig: Rig) -> None:
    answer = await rig.slack.call(
        "chat.postEphemeral", {"channel": CHANNEL, "user": "UALICE01", "text": "only you"}
    )

    assert TS.match(answer["message_ts"])
    [ephemeral] = rig.state.ephemerals("UALICE01")
    assert (ephemeral.channel, ephemeral.text) == (CHANNEL, "only you")
    assert rig.state.ephemerals("UBOB0002") == []
    assert rig.state.messages(CHANNEL) == []
    payload = {"channel": CHANNEL, "user": "UNOBODY1", "text": "x"}
    assert await api_error(rig, "chat.postEphemeral", payload) == "user_not_found"


async def test_form_bodies_with_json_blocks_and_a_token_field_work(rig: Rig) -> None:
    blocks = '[{"type": "divider"}]'
    form = {"token": "xoxb-form", "channel": CHANNEL, "text": "t", "blocks": blocks}
    response = await rig.http.post("/api/chat.postMessage", data=form)

    assert response.json()["ok"] is True
    assert rig.state.messages(CHANNEL)[0].blocks == [{"type": "divider"}]
    form["blocks"] = "[not json"
    response = await rig.http.post("/api/chat.postMessage", data=form)
    assert response.json()["error"] == "invalid_blocks_format"
    [call, _] = rig.state.calls("chat.postMessage")
    assert "token" not in call.payload


# -- response_urls -------------------------------------------------------------------


async def test_response_url_answers_ok_and_records_the_post(rig: Rig) -> None:
    url = rig.state.new_response_url(rig.url, CHANNEL, "UBOB0002")

    await rig.slack.respond(url, {"text": "Restart queued", "response_type": "in_channel"})

    [post] = rig.state.responses()
    assert (post.channel, post.user, post.text) == (CHANNEL, "UBOB0002", "Restart queued")
    assert (post.response_type, post.replace_original) == ("in_channel", False)
    response = await rig.http.post(url, json={"text": "again"})
    assert response.text == "ok"


async def test_replace_original_edits_the_message_the_button_sat_on(rig: Rig) -> None:
    ts = await rig.post("Confirm restart?")
    url = rig.state.new_response_url(rig.url, CHANNEL, "UALICE01", message_ts=ts)

    await rig.slack.respond(url, {"text": "Confirmed by alice", "replace_original": True})

    [message] = rig.state.messages(CHANNEL)
    assert (message.text, message.edits) == ("Confirmed by alice", 1)


async def test_response_url_works_five_times_within_thirty_minutes(rig: Rig) -> None:
    used = rig.state.new_response_url(rig.url, CHANNEL, "UALICE01")
    expired = rig.state.new_response_url(rig.url, CHANNEL, "UALICE01")
    for _ in range(5):
        await rig.slack.respond(used, {"text": "x"})
    with pytest.raises(SlackApiError, match="http_404"):
        await rig.slack.respond(used, {"text": "sixth"})
    rig.clock.advance(30 * 60 - 1)
    await rig.slack.respond(expired, {"text": "just in time"})
    rig.clock.advance(2)

    for url in (expired, rig.url + "/response/Rnope"):
        with pytest.raises(SlackApiError, match="http_404"):
            await rig.slack.respond(url, {"text": "x"})
    errors = [c.error for c in rig.state.calls("response_url")]
    assert errors == [None] * 5 + ["used_url", None, "expired_url", "no_such_url"]


async def test_response_url_refuses_invalid_blocks(rig: Rig) -> None:
    url = rig.state.new_response_url(rig.url, CHANNEL, "UALICE01")
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]

    with pytest.raises(SlackApiError, match="http_400"):
        await rig.slack.respond(url, {"text": "x", "blocks": blocks})
    assert rig.state.responses() == []
    assert rig.state.calls("response_url")[0].error == "invalid_blocks"


# -- Block Kit limits ----------------------------------------------------------------


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str = "Go", value: str = "v", action_id: str = "go") -> dict[str, Any]:
    label = {"type": "plain_text", "text": text}
    return {"type": "button", "text": label, "value": value, "action_id": action_id}


def actions(count: int) -> dict[str, Any]:
    return {"type": "actions", "elements": [button(action_id=f"b{i}") for i in range(count)]}


def context(count: int) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * count}


def fields(count: int, size: int = 5) -> dict[str, Any]:
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * size}] * count}


def header(size: int) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": "h" * size}}


# (name, blocks at the limit, blocks one past it): the first must pass, the second fail.
LIMITS: list[tuple[str, Callable[[int], list[dict[str, Any]]], int]] = [
    ("blocks per message", lambda n: [{"type": "divider"}] * n, 50),
    ("section text", lambda n: [section("s" * n)], 3000),
    ("header text", lambda n: [header(n)], 150),
    ("button text", lambda n: [actions(0) | {"elements": [button(text="b" * n)]}], 75),
    ("button value", lambda n: [actions(0) | {"elements": [button(value="v" * n)]}], 2000),
    ("action_id", lambda n: [actions(0) | {"elements": [button(action_id="a" * n)]}], 255),
    ("block_id", lambda n: [section("s") | {"block_id": "b" * n}], 255),
    ("actions elements", lambda n: [actions(n)], 25),
    ("context elements", lambda n: [context(n)], 10),
    ("section fields", lambda n: [fields(n)], 10),
    ("section field text", lambda n: [fields(1, size=n)], 2000),
]


@pytest.mark.parametrize(("name", "build", "limit"), LIMITS, ids=[x[0] for x in LIMITS])
async def test_block_kit_limits_pass_at_the_limit_and_fail_past_it(
    rig: Rig, name: str, build: Callable[[int], list[dict[str, Any]]], limit: int
) -> None:
    await rig.post("at the limit", blocks=build(limit))

    payload = {"channel": CHANNEL, "text": "past it", "blocks": build(limit + 1)}
    assert await api_error(rig, "chat.postMessage", payload) == "invalid_blocks"
    assert [m.text for m in rig.state.messages(CHANNEL)] == ["at the limit"]


async def test_invalid_blocks_names_the_json_pointer_like_slack(rig: Rig) -> None:
    payload = {"channel": CHANNEL, "text": "t", "blocks": [section("ok"), section("s" * 3001)]}
    response = await rig.http.post(
        "/api/chat.postMessage", json=payload, headers={"Authorization": "Bearer xoxb-t"}
    )

    body = response.json()
    assert body["error"] == "invalid_blocks"
    [detail] = body["response_metadata"]["messages"]
    assert "[json-pointer:/blocks/1/text/text]" in detail


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"text": "x" * 40_001}, "msg_too_long"),
        ({}, "no_text"),
        ({"text": "", "blocks": []}, "no_text"),
        ({"text": "t", "blocks": [{"type": "carousel_of_doom"}]}, "invalid_blocks"),
        (
            {"text": "t", "blocks": [header(10) | {"text": {"type": "mrkdwn", "text": "h"}}]},
            "invalid_blocks",
        ),
        ({"text": "t", "blocks": "not a list"}, "invalid_blocks_format"),
    ],
    ids=["text-too-long", "nothing", "empty", "unknown-type", "mrkdwn-header", "not-a-list"],
)
async def test_message_level_errors(rig: Rig, payload: dict[str, Any], error: str) -> None:
    assert await api_error(rig, "chat.postMessage", {"channel": CHANNEL, **payload}) == error
    assert rig.state.messages(CHANNEL) == []


async def test_text_of_exactly_forty_thousand_characters_is_accepted(rig: Rig) -> None:
    await rig.post("x" * 40_000)
    assert len(rig.state.messages(CHANNEL)) == 1


async def test_views_open_allows_a_hundred_blocks_and_checks_the_title(rig: Rig) -> None:
    def modal(blocks: int, title: str = "Restart pg-orders") -> dict[str, Any]:
        title_text = {"type": "plain_text", "text": title}
        return {"type": "modal", "title": title_text, "blocks": [section("s")] * blocks}

    trigger = rig.state.new_trigger_id("UALICE01")
    too_many = {"trigger_id": trigger, "view": modal(101)}
    assert await api_error(rig, "views.open", too_many) == "invalid_blocks"
    long_title = {"trigger_id": trigger, "view": modal(1, title="t" * 25)}
    assert await api_error(rig, "views.open", long_title) == "invalid_arguments"
    # A refused view does not spend the trigger: the good one opens with it.
    answer = await rig.slack.call("views.open", {"trigger_id": trigger, "view": modal(100)})

    assert answer["view"]["id"].startswith("V")
    assert [v.trigger_id for v in rig.state.views()] == [trigger]
    assert await api_error(rig, "views.open", {"view": modal(1)}) == "invalid_arguments"


async def test_views_publish_keeps_one_home_per_user_and_checks_the_hash(rig: Rig) -> None:
    home = {"type": "home", "blocks": [section("on call: alice")]}
    first = await rig.slack.call("views.publish", {"user_id": "UBOB0002", "view": home})
    again = {"user_id": "UBOB0002", "view": home, "hash": first["view"]["hash"]}
    second = await rig.slack.call("views.publish", again)
    assert second["view"]["id"] == first["view"]["id"]
    stale = {"user_id": "UBOB0002", "view": home, "hash": first["view"]["hash"]}
    assert await api_error(rig, "views.publish", stale) == "hash_conflict"
    too_many = {"user_id": "UBOB0002", "view": {"type": "home", "blocks": [section("s")] * 101}}
    assert await api_error(rig, "views.publish", too_many) == "invalid_blocks"
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []}
    not_home = {"user_id": "UBOB0002", "view": modal}
    assert await api_error(rig, "views.publish", not_home) == "invalid_arguments"
    assert await api_error(rig, "views.publish", {"user_id": "UNOBODY1", "view": home}) == (
        "user_not_found"
    )


async def test_views_update_replaces_an_open_modal(rig: Rig) -> None:
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []}
    trigger = rig.state.new_trigger_id("UALICE01")
    opened = await rig.slack.call("views.open", {"trigger_id": trigger, "view": modal})
    changed = {**modal, "blocks": [section("picked")]}
    view_id = opened["view"]["id"]
    await rig.slack.call("views.update", {"view_id": view_id, "view": changed})
    (view,) = rig.state.views()
    assert view.view["blocks"] == [section("picked")] and view.updates == 1
    assert await api_error(rig, "views.update", {"view_id": "VNOPE", "view": modal}) == "not_found"


# -- auth, lookups, unknowns -----------------------------------------------------------


async def test_missing_token_is_not_authed_and_a_non_bot_token_is_invalid_auth(rig: Rig) -> None:
    response = await rig.http.post("/api/auth.test", json={})
    assert response.json() == {"ok": False, "error": "not_authed"}

    stranger = rig.client(token="xoxp-user-token")
    with pytest.raises(SlackApiError) as caught:
        await stranger.call("chat.postMessage", {"channel": CHANNEL, "text": "x"})
    await stranger.aclose()
    assert caught.value.error == "invalid_auth"
    assert rig.state.messages(CHANNEL) == []


async def test_unknown_channels_and_methods(rig: Rig) -> None:
    rig.state.directory.unknown_channels.add("C0GONE001")
    for channel in ("CNOTFOUND1", "C0GONE001", "general"):
        payload = {"channel": channel, "text": "x"}
        assert await api_error(rig, "chat.postMessage", payload) == "channel_not_found"
        assert await api_error(rig, "conversations.info", {"channel": channel}) == (
            "channel_not_found"
        )
    assert await api_error(rig, "chat.deleteEverything", {}) == "unknown_method"


async def test_channels_are_created_on_first_use_and_users_get_dm_channels(rig: Rig) -> None:
    info = await rig.slack.call("conversations.info", {"channel": "C0NEWONE1"})
    dm = await rig.slack.call("chat.postMessage", {"channel": "UALICE01", "text": "handoff"})

    assert info["channel"]["id"] == "C0NEWONE1" and info["channel"]["is_member"] is True
    assert dm["channel"] == "DALICE01"
    assert [m.text for m in rig.state.messages("DALICE01")] == ["handoff"]


async def test_auth_users_and_usergroups(rig: Rig) -> None:
    rig.state.add_user("UERIN005", "erin", "Erin Walsh")
    rig.state.add_usergroup("S0NIGHTS1", ["UERIN005"])

    auth = await rig.slack.call("auth.test", {})
    alice = await rig.slack.call("users.info", {"user": "UALICE01"})
    erin = await rig.slack.call("users.info", {"user": "UERIN005"})
    group = await rig.slack.call("usergroups.users.list", {"usergroup": "S0NIGHTS1"})

    assert (auth["user_id"], auth["bot_id"]) == ("U0BOT0001", "B0BOT0001")
    assert (alice["user"]["name"], erin["user"]["real_name"]) == ("alice", "Erin Walsh")
    assert group["users"] == ["UERIN005"]
    assert await api_error(rig, "users.info", {"user": "UNOBODY1"}) == "user_not_found"
    payload = {"usergroup": "S0NOPE001"}
    assert await api_error(rig, "usergroups.users.list", payload) == "no_such_subteam"
    assert await api_error(rig, "usergroups.users.list", {}) == "invalid_arguments"


async def test_usergroups_need_the_usergroups_read_scope(rig: Rig) -> None:
    rig.state.scopes.discard("usergroups:read")
    raw = await rig.http.post(
        "/api/usergroups.users.list",
        json={"usergroup": "S0ONCALL1"},
        headers={"Authorization": "Bearer xoxb-test"},
    )
    answer = raw.json()
    assert (answer["ok"], answer["error"], answer["needed"]) == (
        False, "missing_scope", "usergroups:read"
    )  # fmt: skip
    assert "usergroups:read" not in answer["provided"].split(",")


def test_the_stand_in_is_installed_with_the_manifests_scopes() -> None:
    assert sorted(INSTALLED_SCOPES) == sorted(BOT_SCOPES)


async def test_a_permalink_names_the_message_and_its_thread(rig: Rig) -> None:
    root = await rig.slack.call("chat.postMessage", {"channel": "C0DEMO001", "text": "card"})
    reply = await rig.slack.call(
        "chat.postMessage", {"channel": "C0DEMO001", "text": "r", "thread_ts": root["ts"]}
    )
    link = await rig.slack.call(
        "chat.getPermalink", {"channel": "C0DEMO001", "message_ts": root["ts"]}
    )
    threaded = await rig.slack.call(
        "chat.getPermalink", {"channel": "C0DEMO001", "message_ts": reply["ts"]}
    )
    assert link["permalink"].endswith("/archives/C0DEMO001/p" + root["ts"].replace(".", ""))
    assert threaded["permalink"].endswith(f"?thread_ts={root['ts']}&cid=C0DEMO001")
    payload = {"channel": "C0DEMO001", "message_ts": "1.000001"}
    assert await api_error(rig, "chat.getPermalink", payload) == "message_not_found"


# -- faults ----------------------------------------------------------------------------


async def test_rate_limit_fault_surfaces_retry_after_and_stores_nothing(rig: Rig) -> None:
    await rig.set_fault(mode="rate_limit", retry_after=7)

    with pytest.raises(SlackRateLimited) as caught:
        await rig.post("lost?")

    assert caught.value.retry_after == 7.0
    assert rig.state.messages(CHANNEL) == []
    [call] = rig.state.calls("chat.postMessage")
    assert (call.status, call.error) == (429, "ratelimited")


async def test_5xx_fault_is_unavailable_not_rate_limited_and_stores_nothing(rig: Rig) -> None:
    ts = await rig.post("before")
    await rig.set_fault(mode="error_5xx", status=502)

    with pytest.raises(SlackUnavailable) as caught:
        await rig.slack.call("chat.update", {"channel": CHANNEL, "ts": ts, "text": "after"})

    assert not isinstance(caught.value, SlackRateLimited)
    assert "502" in str(caught.value)
    [message] = rig.state.messages(CHANNEL)
    assert (message.text, message.edits) == ("before", 0)


async def test_hang_times_the_client_out_and_stores_nothing(rig: Rig) -> None:
    await rig.set_fault(mode="hang")
    impatient = rig.client(timeout=0.3)

    with pytest.raises(SlackUnavailable, match="timed out"):
        await impatient.call("chat.postMessage", {"channel": CHANNEL, "text": "stuck"})
    await impatient.aclose()

    for _ in range(100):  # the stand-in notices the disconnect on its next poll
        if rig.state.calls("chat.postMessage"):
            break
        await asyncio.sleep(0.02)
    [call] = rig.state.calls("chat.postMessage")
    assert (call.status, call.error) == (0, "hang")
    assert rig.state.messages(CHANNEL) == []
    await rig.set_fault(mode="ok")
    await rig.post("after the hang")
    assert [m.text for m in rig.state.messages(CHANNEL)] == ["after the hang"]


async def test_a_hang_with_seconds_releases_waiting_calls_when_time_passes(rig: Rig) -> None:
    await rig.set_fault(mode="hang", seconds=30)
    waiting = asyncio.create_task(rig.post("held"))
    # That the call is held while time stands still is what is tested, and a held call
    # leaves no trace to wait on: only time can show it.
    await asyncio.sleep(0.2)
    assert not waiting.done()

    rig.clock.advance(30)

    assert TS.match(await asyncio.wait_for(waiting, 5))
    assert [m.text for m in rig.state.messages(CHANNEL)] == ["held"]


async def test_faults_with_seconds_expire_on_the_injected_clock(rig: Rig) -> None:
    fault = await rig.set_fault(mode="error_5xx", status=503, seconds=30)
    assert fault["fault"]["mode"] == "error_5xx"

    rig.clock.advance(29.5)
    with pytest.raises(SlackUnavailable):
        await rig.post("too early")
    rig.clock.advance(0.5)
    await rig.post("on time")

    assert [m.text for m in rig.state.messages(CHANNEL)] == ["on time"]
    current = (await rig.http.get("/_standin/faults")).json()["fault"]
    assert current["mode"] == "ok"


async def test_faults_reach_response_urls_too(rig: Rig) -> None:
    url = rig.state.new_response_url(rig.url, CHANNEL, "UALICE01")
    rig.state.set_fault("rate_limit", retry_after=2)

    with pytest.raises(SlackRateLimited) as caught:
        await rig.slack.respond(url, {"text": "x"})

    assert caught.value.retry_after == 2.0
    assert rig.state.responses() == []


async def test_a_fault_can_target_methods_and_a_number_of_calls(rig: Rig) -> None:
    ts = await rig.post("root")
    rig.state.set_fault("error_5xx", methods=["chat.update"], calls=1)

    await rig.post("posts still work")
    with pytest.raises(SlackUnavailable):
        await rig.slack.call("chat.update", {"channel": CHANNEL, "ts": ts, "text": "edit 1"})
    await rig.slack.call("chat.update", {"channel": CHANNEL, "ts": ts, "text": "edit 2"})

    assert rig.state.messages(CHANNEL)[0].text == "edit 2"


@pytest.mark.parametrize(
    "spec",
    [{"mode": "flood"}, {"mode": "error_5xx", "status": 404}, {"mode": "hang", "seconds": -1}],
)
async def test_malformed_fault_specs_are_refused(rig: Rig, spec: dict[str, Any]) -> None:
    response = await rig.http.post("/_standin/faults", json=spec)

    assert response.status_code == 400
    assert rig.state.fault.mode == "ok"


# -- pace ------------------------------------------------------------------------------


async def test_pace_is_only_enforced_when_enabled(rig: Rig) -> None:
    for n in range(6):
        await rig.post(f"burst {n}")

    assert len(rig.state.post_times(CHANNEL)) == 6


async def test_pace_allows_a_small_burst_then_answers_429_retry_after_one(rig: Rig) -> None:
    response = await rig.http.post("/_standin/pace", json={"enabled": True, "burst": 3})
    assert response.json()["enabled"] is True
    for n in range(3):
        await rig.post(f"burst {n}")

    with pytest.raises(SlackRateLimited) as caught:
        await rig.post("one too many")
    await rig.post("another channel is paced apart", channel=OTHER)
    rig.clock.advance(1.0)
    await rig.post("a second later")

    assert caught.value.retry_after == 1.0
    texts = [m.text for m in rig.state.messages(CHANNEL)]
    assert texts == ["burst 0", "burst 1", "burst 2", "a second later"]
    assert rig.state.post_times(CHANNEL) == [5000.0, 5000.0, 5000.0, 5001.0]


# -- observation routes ----------------------------------------------------------------


async def test_the_feed_orders_messages_edits_ephemerals_and_responses(rig: Rig) -> None:
    root = await rig.post("root")
    await rig.post("reply", thread_ts=root)
    await rig.slack.call("chat.update", {"channel": CHANNEL, "ts": root, "text": "root v2"})
    await rig.slack.call(
        "chat.postEphemeral", {"channel": CHANNEL, "user": "UBOB0002", "text": "psst"}
    )
    await rig.post("elsewhere", channel=OTHER)
    url = rig.state.new_response_url(rig.url, CHANNEL, "UBOB0002")
    await rig.slack.respond(url, {"text": "done"})

    feed = (await rig.http.get("/_standin/messages", params={"channel": CHANNEL})).json()

    kinds = [(e["kind"], e.get("text")) for e in feed["events"]]
    assert kinds == [
        ("message", "root"),
        ("message", "reply"),
        ("edit", "root v2"),
        ("ephemeral", "psst"),
        ("response", "done"),
    ]
    assert feed["events"][1]["thread_ts"] == root
    seqs = [e["seq"] for e in feed["events"]]
    assert seqs == sorted(seqs) and feed["next"] == 6
    rest = await rig.http.get("/_standin/messages", params={"since": feed["next"]})
    assert rest.json() == {"events": [], "next": 6}
    everything = (await rig.http.get("/_standin/messages", params={"since": 4})).json()
    assert [e["text"] for e in everything["events"]] == ["elsewhere", "done"]


async def test_the_feed_long_polls_until_something_happens(rig: Rig) -> None:
    poll = asyncio.create_task(rig.http.get("/_standin/messages", params={"since": 0, "wait": 5}))
    await asyncio.sleep(0.1)  # the poll holding while nothing happens is what is tested
    assert not poll.done()

    await rig.post("news")

    feed = (await asyncio.wait_for(poll, 2)).json()
    assert [e["text"] for e in feed["events"]] == ["news"]


async def test_calls_route_pages_by_seq_and_filters_by_method(rig: Rig) -> None:
    await rig.post("one")
    await rig.slack.call("auth.test", {})
    await rig.post("two")

    page = (await rig.http.get("/_standin/calls", params={"since": 1})).json()
    posts = (await rig.http.get("/_standin/calls", params={"method": "chat.postMessage"})).json()

    assert [c["method"] for c in page["calls"]] == ["auth.test", "chat.postMessage"]
    assert page["next"] == 3
    assert [c["payload"]["text"] for c in posts["calls"]] == ["one", "two"]
    assert all(c["status"] == 200 and c["error"] is None for c in posts["calls"])


async def test_response_urls_can_be_minted_over_http(rig: Rig) -> None:
    ts = await rig.post("Approve?")
    minted = await rig.http.post(
        "/_standin/response_urls", json={"channel": CHANNEL, "user": "UBOB0002", "message_ts": ts}
    )
    url = minted.json()["response_url"]

    await rig.slack.respond(url, {"text": "Approved by bob", "replace_original": True})

    assert url.startswith(rig.url + "/response/")
    assert rig.state.messages(CHANNEL)[0].text == "Approved by bob"


def test_public_surface() -> None:
    assert set(standin.__all__) == {
        "BOT_ID",
        "BOT_USER_ID",
        "TEAM_ID",
        "Call",
        "Channel",
        "Directory",
        "Ephemeral",
        "Event",
        "Fault",
        "Message",
        "ResponsePost",
        "StandInState",
        "User",
        "View",
        "create_app",
        "start_standin",
    }


# -- files: the external upload -----------------------------------------------------------


async def test_a_file_is_shared_in_a_thread_through_the_three_steps(rig: Rig) -> None:
    root = await rig.post("answer")
    done = await rig.slack.upload_file(
        channel=CHANNEL, thread_ts=root, filename="list.csv", title="3 services",
        content=b"name\npg-a\npg-b\n",
    )  # fmt: skip
    (shared,) = rig.state.files()
    assert (shared.channel, shared.thread_ts, shared.title) == (CHANNEL, root, "3 services")
    assert shared.content == b"name\npg-a\npg-b\n"
    assert done["files"][0]["id"] == shared.id
    assert [m.text for m in rig.state.messages(CHANNEL) if m.thread_ts == root] == ["3 services"]


async def test_the_upload_url_takes_a_multipart_form_too(rig: Rig) -> None:
    ticket = await rig.slack.call("files.getUploadURLExternal", {"filename": "a.csv", "length": 3})
    sent = await rig.http.post(ticket["upload_url"], files={"file": ("a.csv", b"abc")})
    assert sent.status_code == 200
    await rig.slack.call("files.completeUploadExternal", {"files": [{"id": ticket["file_id"]}]})
    assert rig.state.files()[0].content == b"abc"


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"filename": "a.csv"}, "missing_argument"),
        ({"filename": "a.csv", "length": 0}, "missing_argument"),
        ({"length": 10}, "missing_argument"),
        ({"filename": "a.csv", "length": "ten"}, "invalid_arguments"),
        ({"filename": "a.csv", "length": -1}, "invalid_arguments"),
        ({"filename": "a.csv", "length": 2 * 1024**3}, "file_upload_size_restricted"),
    ],
)
async def test_an_upload_url_is_refused_with_slacks_errors(
    rig: Rig, payload: dict[str, Any], error: str
) -> None:
    assert await api_error(rig, "files.getUploadURLExternal", payload) == error


async def test_completing_an_upload_checks_its_arguments(rig: Rig) -> None:
    ticket = await rig.slack.call("files.getUploadURLExternal", {"filename": "a", "length": 3})
    file_id = ticket["file_id"]
    complete = "files.completeUploadExternal"
    # The bytes never came: there is no file yet.
    assert await api_error(rig, complete, {"files": [{"id": file_id}]}) == "file_not_found"
    short = await rig.http.post(ticket["upload_url"], content=b"ab")
    assert short.status_code == 400  # not the length asked for
    assert (await rig.http.post(ticket["upload_url"], content=b"abc")).status_code == 200
    files = [{"id": file_id}]
    assert await api_error(rig, complete, {"files": "not json"}) == "invalid_arguments"
    assert await api_error(rig, complete, {"files": []}) == "invalid_arguments"
    assert await api_error(rig, complete, {"files": files, "thread_ts": "1.2"}) == (
        "invalid_arguments"
    )
    assert await api_error(rig, complete, {"files": files, "channel_id": "no-such-channel"}) == (
        "channel_not_found"
    )
    assert rig.state.files() == []  # a refused call shares nothing
    await rig.slack.call(complete, {"files": files, "channel_id": CHANNEL})
    assert await api_error(rig, complete, {"files": files}) == "file_not_found"  # shared once


async def test_uploads_need_the_files_write_scope(rig: Rig) -> None:
    rig.state.scopes.discard("files:write")
    raw = await rig.http.post(
        "/api/files.getUploadURLExternal",
        json={"filename": "a", "length": 1},
        headers={"Authorization": "Bearer xoxb-test"},
    )
    assert (raw.json()["error"], raw.json()["needed"]) == ("missing_scope", "files:write")


async def test_the_client_does_not_send_the_bytes_to_a_foreign_upload_url() -> None:
    asked: list[str] = []

    def slack(request: httpx.Request) -> httpx.Response:
        # A forged answer: the upload URL points somewhere that is not Slack.
        asked.append(str(request.url))
        upload = {"ok": True, "upload_url": "https://evil.example.com/u", "file_id": "F1"}
        return httpx.Response(200, json=upload)

    client = SlackWebClient(
        "xoxb-test", "https://slack.com/api/", transport=httpx.MockTransport(slack)
    )
    with pytest.raises(SlackApiError) as caught:
        await client.upload_file(
            channel=CHANNEL, thread_ts=None, filename="a", title="a", content=b"secret"
        )
    await client.aclose()
    assert caught.value.error == "untrusted_upload_url"
    assert asked == ["https://slack.com/api/files.getUploadURLExternal"]
