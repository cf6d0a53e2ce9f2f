"""Two replicas in Socket Mode on one PostgreSQL, each with its own socket to one Slack:
Slack spreads envelopes over both, an envelope resent after its ack was lost may land on
the other replica and still runs once, and a replica that stops (a rolling deploy) closes
its socket first, so what follows goes to the one left and nothing is lost."""

from __future__ import annotations

import asyncio

from tests.harness import USERS, BotHarness
from tests.test_socket_mode_scenario import SOCKET_SLACK

SERVICES = ["pg-orders", "pg-billing", "redis-sessions", "pg-orders", "pg-billing", "kafka-events"]


def replica(db_url: str, owner: str, slack_of: BotHarness | None = None) -> BotHarness:
    return BotHarness(db_url, slack=SOCKET_SLACK, owner=owner, slack_of=slack_of)


def answered(h: BotHarness) -> list[str]:
    return [r.text.split(":")[0] for r in h.state.responses() if r.user == USERS["alice"]]


async def test_two_replicas_share_the_envelopes_and_one_can_leave(pg_url: str) -> None:
    async with replica(pg_url, "replica-a") as a:
        b = await replica(pg_url, "replica-b", slack_of=a).__aenter__()
        hub = a.state.socket_mode
        try:
            assert hub.connections == 2
            hub.cut_after_next_envelope()  # one ack lost: that envelope goes out again
            acks = await asyncio.gather(
                *(a.command("alice", f"/fleet status {s}") for s in SERVICES)
            )
            assert {r.status_code for r in acks} == {200}
            await asyncio.gather(a.quiet(), b.quiet())
            assert sorted(answered(a)) == sorted(SERVICES)  # each command answered once
            assert len(hub.sent) == len(SERVICES) + 1
            assert len({s.connection for s in hub.sent}) >= 2  # both replicas were sent work
        finally:
            await b.__aexit__(None, None, None)
        # b is gone, its socket closed with it: the next command goes to a.
        assert hub.connections == 1
        assert (await a.command("alice", "/fleet status redis-sessions")).status_code == 200
        await a.quiet()
        assert answered(a).count("redis-sessions") == 2
        assert all(d.acked for d in hub.deliveries)
