"""Transcripts of `/fleet status` through the real app: signed requests in, the stand-in out."""

from __future__ import annotations

import time

from tests.harness import BotHarness


def block_text(blocks: list[dict[str, object]]) -> str:
    return repr(blocks)


async def test_alice_sees_the_status_card_of_pg_orders(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        started = time.monotonic()
        answer = await h.command("alice", "/fleet status pg-orders")
        acked_in = time.monotonic() - started
        assert answer.status_code == 200
        assert acked_in < 3.0
        card = await h.wait_for_response("alice")
        assert card.text.startswith("pg-orders: ")
        assert card.blocks[0]["type"] == "header"
        assert "pg-orders (postgres)" in block_text(card.blocks)
        assert "primary" in block_text(card.blocks)
        assert card.response_type == "ephemeral"


async def test_fleet_overview_counts_services_by_kind(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        await h.command("bob", "/fleet status")
        card = await h.wait_for_response("bob")
        text = block_text(card.blocks)
        assert card.text.startswith("Fleet: ")
        total = int(card.text.split()[1])
        assert total >= 200
        for kind in ("postgres", "redis", "kafka"):
            assert f"*{kind}*" in text


async def test_a_misspelt_service_gets_a_suggestion(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        await h.command("alice", "/fleet status pg-ordrs")
        reply = await h.wait_for_response("alice")
        assert reply.text == "No service named `pg-ordrs`; did you mean `pg-orders`?"


async def test_an_unknown_subcommand_gets_help_not_silence(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        await h.command("alice", "/fleet stauts pg-orders")
        reply = await h.wait_for_response("alice")
        assert "Did you mean `/fleet status`?" in reply.text


async def test_help_is_generated_from_the_registry(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        await h.command("alice", "/fleet help")
        reply = await h.wait_for_response("alice")
        assert "`/fleet status [service]`" in block_text(reply.blocks)
        await h.command("alice", "/fleet")
        bare = await h.wait_for_response("alice", count=2)
        assert bare.blocks == reply.blocks


async def test_unbalanced_quotes_are_explained(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        await h.command("alice", '/fleet status "pg-orders')
        reply = await h.wait_for_response("alice")
        assert "check the quotes" in reply.text


async def test_a_slack_retry_does_not_run_the_handler_twice(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        body = h.sender.command_body(
            "/fleet",
            "status pg-orders",
            user_id="UALICE01",
            user_name="alice",
            channel_id="C0DEMO001",
        )
        first = await h.sender.send(body, "application/x-www-form-urlencoded")
        retry = await h.sender.send(
            body,
            "application/x-www-form-urlencoded",
            **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
        )
        assert first.status_code == retry.status_code == 200
        await h.wait_for_response("alice")
        await h.command("alice", "/fleet status pg-billing")  # a later, different command
        await h.wait_for_response("alice", count=2)
        texts = [r.text for r in h.state.responses()]
        assert len(texts) == 2
        assert texts[1].startswith("pg-billing")


async def test_bad_signatures_get_401_and_run_nothing(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        body = h.sender.command_body(
            "/fleet", "status", user_id="UALICE01", user_name="alice", channel_id="C0DEMO001"
        )
        headers = h.sender.signed_headers(body, "application/x-www-form-urlencoded")
        cases = [
            {**headers, "X-Slack-Signature": "v0=" + "0" * 64},
            {**headers, "X-Slack-Request-Timestamp": str(int(time.time()) - 301)},
            {**headers, "X-Slack-Request-Timestamp": str(int(time.time()) + 301)},
            {**headers, "X-Slack-Request-Timestamp": "not-a-number"},
            {**headers, "X-Slack-Request-Timestamp": "9" * 30},
            {"Content-Type": "application/x-www-form-urlencoded"},
        ]
        async with __import__("httpx").AsyncClient() as client:
            for case in cases:
                answer = await client.post(h.url + "/slack/events", content=body, headers=case)
                assert answer.status_code == 401, case
            non_ascii = await client.post(
                h.url + "/slack/events",
                content=body,
                headers=[
                    (b"x-slack-signature", "v0=é".encode()),
                    (b"x-slack-request-timestamp", str(int(time.time())).encode()),
                ],
            )
            assert non_ascii.status_code == 401
            huge = await client.post(h.url + "/slack/events", content=b"x" * 2_000_000)
            assert huge.status_code == 413
        assert h.state.responses() == []


async def test_health_and_readiness(db_url: str) -> None:
    async with BotHarness(db_url) as h, __import__("httpx").AsyncClient() as client:
        assert (await client.get(h.url + "/healthz")).json() == {"status": "ok"}
        ready = await client.get(h.url + "/readyz")
        assert ready.status_code == 200
        assert ready.json()["database"] == "ok"
