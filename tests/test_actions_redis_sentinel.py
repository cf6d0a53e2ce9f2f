"""The guarded flow on a real Redis master, two replicas and three Sentinels on loopback,
through signed Slack requests: `/fleet status` shows master, replicas, lag and quorum;
alice's switchover, with bob's approval, moves the master and all three Sentinels name the
new one; an action Sentinel cannot do is refused with its reason before anything is sent;
a master whose Sentinels do not answer is reported unknown, never healthy."""

from __future__ import annotations

import copy
import re
import socket
from typing import Any

from tests.actions_support import (
    PERMISSIONS,
    ROLES,
    audited_and_verified,
    card,
    in_thread,
    policies,
    text_of,
)
from tests.harness import USERS, BotHarness, find_button
from tests.redis_sentinel_cluster import SentinelCluster, sentinel_cluster_fixture  # noqa: F401

WITHIN = 90.0  # Sentinel fails over in seconds; a loaded machine gets room
DEAD = "redis-dark"  # a master whose Sentinels are all gone


def _dead_sentinels() -> list[str]:
    socks = [socket.socket() for _ in range(3)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [f"127.0.0.1:{sock.getsockname()[1]}" for sock in socks]
    finally:
        for sock in socks:
            sock.close()  # nothing listens there afterwards


def sentinel_harness(db_url: str, cluster: SentinelCluster) -> BotHarness:
    rules = {"rules": [
        {"actions": ["switchover", "failover"], "roles": ["responder"],
         "approval": {"roles": ["responder"]}},
        {"actions": ["reinit", "restart", "pause", "resume", "cancel"], "roles": ["responder"]},
    ]}  # fmt: skip
    dark = cluster.backend_config(
        "dark", masters=[DEAD], sentinels=_dead_sentinels(), timeout_seconds=0.5
    )
    return BotHarness(
        db_url,
        roles=ROLES,
        policies=policies(**rules),
        permissions=PERMISSIONS,
        fleet={"backends": [cluster.backend_config(), dark]},
    )


def answered(h: BotHarness, user: str) -> int:
    return len([r for r in h.state.responses() if r.user == USERS[user]])


async def ask(h: BotHarness, user: str, line: str) -> Any:
    seen = answered(h, user)
    await h.command(user, line)

    def probe() -> Any:
        posts = [r for r in h.state.responses() if r.user == USERS[user]]
        return posts[seen] if len(posts) > seen else None

    return await h.wait_for(probe, within=WITHIN)


async def test_status_and_a_switchover_through_slack(
    db_url: str, sentinel_cluster: SentinelCluster
) -> None:
    cluster = sentinel_cluster
    old = cluster.master_port()
    assert old is not None
    async with sentinel_harness(db_url, cluster) as h:
        status = text_of(await ask(h, "alice", f"/fleet status {cluster.name}"))
        assert f"{cluster.name} (redis)" in status and "healthy" in status
        assert f"`{cluster.member(old)}`" in status  # the master
        for port in cluster.data_ports:
            if port != old:  # each replica, linked, with its lag in bytes
                row = rf"`{re.escape(cluster.member(port))}` replica · running · healthy · lag \d+ "
                assert re.search(row, status), status
        assert "*Quorum*: 2 of 3: OK 3 usable Sentinels" in status
        assert "*Sentinels*: 3 known" in status

        preview = await ask(h, "alice", f"/fleet switchover {cluster.name} -- drill")
        shown = text_of(preview)
        assert f"Preview: switchover {cluster.name}" in shown
        assert "SENTINEL FAILOVER" in shown and "Sentinel will promote one of" in shown
        seen = answered(h, "alice")
        await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
        await h.wait_for(lambda: answered(h, "alice") > seen, within=WITHIN)
        approval = copy.deepcopy(await card(h, "Approval needed", within=WITHIN))
        assert cluster.master_port() == old  # nothing ran before the approval
        await h.click("bob", find_button(approval.blocks, "Approve"), message_ts=approval.ts)
        result = await in_thread(h, approval, "post-check", within=WITHIN)
        assert "succeeded" in result.text and "post-check passed" in result.text, text_of(result)

        named = cluster.sentinel_masters()
        assert len(set(named)) == 1 and named[0] not in (None, old)  # all three agree
        new = named[0]
        assert new is not None and cluster.replication(new)["role"] == "master"
        after = text_of(await ask(h, "alice", f"/fleet status {cluster.name}"))
        assert f"`{cluster.member(new)}` primary" in after
        await audited_and_verified(h)
    cluster.wait_until_settled()


async def test_refusals_and_an_unknown_master_through_slack(
    db_url: str, sentinel_cluster: SentinelCluster
) -> None:
    cluster = sentinel_cluster
    master = cluster.master_port()
    async with sentinel_harness(db_url, cluster) as h:
        refused = text_of(await ask(h, "alice", f"/fleet restart {cluster.name}"))
        assert "The fleet refuses this plan" in refused
        assert "Redis has no command that restarts it" in refused
        assert "Confirm" not in refused
        candidate = next(p for p in cluster.data_ports if p != master)
        named = text_of(
            await ask(
                h,
                "alice",
                f"/fleet switchover {cluster.name} candidate={cluster.member(candidate)}",
            )
        )
        assert "cannot be told which" in named and "Confirm" not in named
        assert cluster.master_port() == master

        dark = await ask(h, "alice", f"/fleet status {DEAD}")
        assert "not answering" in dark.text and "unknown" in dark.text
        assert "healthy" not in dark.text
        # The overview: the dark backend is unknown, the live set is still shown.
        overview = text_of(await ask(h, "alice", "/fleet status"))
        assert "*unknown*: the services of *dark*" in overview, overview
        assert cluster.name in overview and "*sentinel*" in overview
