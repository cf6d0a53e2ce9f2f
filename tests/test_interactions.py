"""Button clicks and @mentions reach their handlers through the real app, once each."""

from __future__ import annotations

from bot.interactions import Click
from bot.outbox import Message
from bot.parts import AppParts
from bot.runtime import Runtime
from tests.conftest import shipped_permissions
from tests.harness import BotHarness


async def test_a_click_runs_its_handler_once_and_answers_the_clicker(db_url: str) -> None:
    clicks: list[Click] = []

    async def ping(click: Click, rt: Runtime) -> Message:
        clicks.append(click)
        return Message(text=f"pong {click.value}")

    def add_ping(parts: AppParts) -> None:
        parts.buttons.on("ping", verb="test.ping")(ping)

    grant = {**shipped_permissions(), "test.ping": ["anyone"]}
    async with BotHarness(db_url, customize=add_ping, permissions=grant) as h:
        payload = h.sender.block_action_payload(
            user_id="UBOB0002",
            user_name="bob",
            channel_id="C0DEMO001",
            action={"action_id": "ping:1", "block_id": "b", "value": "42"},
            message={"ts": "1.000100", "text": "x"},
            message_ts="1.000100",
            ephemeral=False,
        )
        body = h.sender.action_body(payload)
        for _ in range(2):  # the original and a Slack retry of the same click
            answer = await h.sender.send(body, "application/x-www-form-urlencoded")
            assert answer.status_code == 200
        reply = await h.wait_for_response("bob")
        assert reply.text == "pong 42"
        await h.quiet()  # the retry's listener has finished too
        assert [c.user_id for c in clicks] == ["UBOB0002"]
        assert clicks[0].message_ts == "1.000100"


async def test_an_unknown_button_is_explained(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        payload = h.sender.block_action_payload(
            user_id="UBOB0002",
            user_name="bob",
            channel_id="C0DEMO001",
            action={"action_id": "gone:1", "block_id": "b", "value": ""},
            message={},
            message_ts=None,
            ephemeral=True,
        )
        await h.sender.interaction(payload)
        reply = await h.wait_for_response("bob")
        assert "no longer does anything" in reply.text


async def test_a_mention_without_a_mention_group_gets_help_in_the_thread(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        event = {
            "type": "app_mention",
            "user": "UALICE01",
            "text": "<@U0BOT0001> ack",
            "ts": "1700000000.000200",
            "thread_ts": "1700000000.000100",
            "channel": "C0DEMO001",
        }
        assert (await h.sender.event(event, event_id="Ev1")).status_code == 200
        assert (await h.sender.event(event, event_id="Ev1")).status_code == 200
        await h.wait_for(lambda: h.state.ephemerals("UALICE01"))
        await h.quiet()  # the retry's listener has finished too
        shown = h.state.ephemerals("UALICE01")
        assert len(shown) == 1
        assert shown[0].thread_ts == "1700000000.000100"
        assert "Mention me in an incident thread" in shown[0].text
