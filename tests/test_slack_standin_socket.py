"""The stand-in's Socket Mode, driven by a plain WebSocket client as an app would: the
token apps.connections.open wants, one connection per URL, `hello`, envelopes and acks,
resends when an ack does not come, `disconnect`, and the control routes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from standins.loopback import LoopbackServer
from standins.slack import StandInState, start_standin
from standins.slack.socket_mode import APP_ID, SocketModeHub


@pytest.fixture
async def standin() -> AsyncIterator[tuple[LoopbackServer, StandInState]]:
    server, state = await start_standin()
    try:
        yield server, state
    finally:
        await server.stop()


async def open_url(server: LoopbackServer, token: str | None = "xapp-1-A0WATCH01-test") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient() as client:
        answer = await client.post(server.url + "/api/apps.connections.open", headers=headers)
    return answer.json()


async def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await ws.recv())
    return message


async def connected(server: LoopbackServer) -> tuple[ClientConnection, dict[str, Any]]:
    url = (await open_url(server))["url"]
    ws = await connect(url)
    return ws, await receive(ws)


async def test_connections_open_wants_the_app_level_token(
    standin: tuple[LoopbackServer, StandInState],
) -> None:
    server, _ = standin
    assert await open_url(server, None) == {"ok": False, "error": "not_authed"}
    bot_token = await open_url(server, "xoxb-demo-token")
    assert bot_token == {"ok": False, "error": "not_allowed_token_type"}
    assert await open_url(server, "nonsense") == {"ok": False, "error": "invalid_auth"}
    answer = await open_url(server)
    assert answer["ok"] is True
    assert answer["url"].startswith(f"ws://127.0.0.1:{server.port}/link/?ticket=")
    assert answer["url"].endswith(f"&app_id={APP_ID}")
    # ...and the app-level token is no bot token.
    async with httpx.AsyncClient() as client:
        posted = await client.post(
            server.url + "/api/chat.postMessage",
            json={"channel": "C0DEMO001", "text": "hi"},
            headers={"Authorization": "Bearer xapp-1-A0WATCH01-test"},
        )
    assert posted.json() == {"ok": False, "error": "not_allowed_token_type"}


async def test_a_url_opens_one_connection_which_says_hello_first(
    standin: tuple[LoopbackServer, StandInState],
) -> None:
    server, state = standin
    url = (await open_url(server))["url"]
    async with connect(url) as ws:
        hello = await receive(ws)
        assert hello["type"] == "hello"
        assert hello["num_connections"] == 1
        assert hello["connection_info"] == {"app_id": APP_ID}
        assert set(hello["debug_info"]) == {"host", "build_number", "approximate_connection_time"}
        with pytest.raises(InvalidStatus) as refused:
            await connect(url)  # the same URL again
        assert refused.value.response.status_code == 403
        with pytest.raises(InvalidStatus):
            await connect(url.replace("ticket=", "ticket=forged"))
        second, hello = await connected(server)
        assert hello["num_connections"] == 2
        await second.close()
    assert state.socket_mode.opened == 2


async def test_an_acked_envelope_is_delivered_once_with_the_acks_payload(
    standin: tuple[LoopbackServer, StandInState],
) -> None:
    server, state = standin
    hub = state.socket_mode
    ws, _ = await connected(server)
    async with ws:
        sending = asyncio.create_task(hub.deliver("slash_commands", {"command": "/fleet"}))
        envelope = await receive(ws)
        assert envelope["type"] == "slash_commands"
        assert envelope["payload"] == {"command": "/fleet"}
        assert envelope["accepts_response_payload"] is True
        assert (envelope["retry_attempt"], envelope["retry_reason"]) == (0, "")
        await ws.send(
            json.dumps({"envelope_id": envelope["envelope_id"], "payload": {"text": "ok"}})
        )
        delivery = await sending
    assert (delivery.acked, delivery.payload, delivery.attempts) == (True, {"text": "ok"}, 1)
    assert [s.envelope_id for s in hub.sent] == [envelope["envelope_id"]]


async def test_an_envelope_not_acked_in_time_is_sent_again_then_given_up(
    standin: tuple[LoopbackServer, StandInState],
) -> None:
    server, state = standin
    hub = state.socket_mode
    hub.ack_seconds, hub.max_retries = 0.2, 2
    ws, _ = await connected(server)
    async with ws:
        sending = asyncio.create_task(hub.deliver("events_api", {"event_id": "Ev1"}))
        attempts = [await receive(ws) for _ in range(3)]
        delivery = await sending
    assert len({a["envelope_id"] for a in attempts}) == 1
    assert [(a["retry_attempt"], a["retry_reason"]) for a in attempts] == [
        (0, ""), (1, "timeout"), (2, "timeout"),
    ]  # fmt: skip
    assert attempts[0]["accepts_response_payload"] is False  # events carry no response
    assert (delivery.acked, delivery.attempts) == (False, 3)


async def test_an_ack_lost_with_its_connection_is_sent_again_on_the_next(
    standin: tuple[LoopbackServer, StandInState],
) -> None:
    server, state = standin
    hub = state.socket_mode
    first, _ = await connected(server)
    hub.cut_after_next_envelope()
    sending = asyncio.create_task(hub.deliver("interactive", {"type": "block_actions"}))
    lost = await receive(first)
    with pytest.raises(ConnectionClosed):
        await first.recv()
    second, _ = await connected(server)
    async with second:
        again = await receive(second)
        assert again["envelope_id"] == lost["envelope_id"]
        assert (again["retry_attempt"], again["retry_reason"]) == (1, "connection_closed")
        await second.send(json.dumps({"envelope_id": again["envelope_id"]}))
        delivery = await sending
    assert (delivery.acked, delivery.payload, delivery.attempts) == (True, None, 2)


async def test_disconnect_retires_a_connection_and_moves_envelopes_to_the_next(
    standin: tuple[LoopbackServer, StandInState],
) -> None:
    server, state = standin
    hub = state.socket_mode
    old, _ = await connected(server)
    assert await hub.disconnect("refresh_requested") == 1
    notice = await receive(old)
    assert (notice["type"], notice["reason"]) == ("disconnect", "refresh_requested")
    assert "host" in notice["debug_info"]
    # The retiring connection takes no new envelope: this one waits for the next.
    sending = asyncio.create_task(hub.deliver("events_api", {"event_id": "Ev2"}))
    new, _ = await connected(server)
    async with new:
        envelope = await receive(new)
        await new.send(json.dumps({"envelope_id": envelope["envelope_id"]}))
        assert (await sending).acked
    await old.close()


async def test_the_control_routes_deliver_drop_and_report(
    standin: tuple[LoopbackServer, StandInState],
) -> None:
    server, state = standin
    ws, _ = await connected(server)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        refused = await client.post("/_standin/socket/deliver", json={"type": "rtm", "payload": {}})
        assert refused.status_code == 400
        bad_reason = await client.post("/_standin/socket/disconnect", json={"reason": "bored"})
        assert bad_reason.status_code == 400
        sending = asyncio.create_task(
            client.post("/_standin/socket/deliver", json={"type": "events_api", "payload": {}})
        )
        envelope = await receive(ws)
        await ws.send(b"\x00")  # a binary frame
        await ws.send("not an ack")  # read in order: before the ack that ends the delivery
        await ws.send(json.dumps({"envelope_id": envelope["envelope_id"]}))
        delivered = (await sending).json()
        assert (delivered["acked"], delivered["envelope_id"]) == (True, envelope["envelope_id"])
        assert (await client.post("/_standin/socket/drop", json={})).json()["dropped"] == 1
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        status = (await client.get("/_standin/socket")).json()
    assert (status["connections"], status["opened"]) == (0, 1)
    assert [a["counted"] for a in status["acks"]] == [True]
    assert state.socket_mode.unreadable == ["b'\\x00'", "not an ack"]


def test_a_hub_refuses_an_unknown_envelope_type() -> None:
    with pytest.raises(ValueError, match="no envelope type"):
        asyncio.run(SocketModeHub().deliver("rtm", {}))  # type: ignore[arg-type]
