"""The guarded flow on a real two-node Patroni cluster with etcd on loopback: alice's
signed `/fleet switchover`, bob's approval, Patroni's leader really changing, the thread
with the result and the post-check, and an audit chain that verifies. Also: strangers are
refused, nobody approves their own request, an approval does not carry over to other
parameters, and a paused cluster makes the switchover plan warn."""

from __future__ import annotations

import copy
from typing import Any

from tests.actions_support import (
    PERMISSIONS,
    ROLES,
    audited_and_verified,
    card,
    healthy_leader_and_replica,
    in_thread,
    policies,
    text_of,
)
from tests.harness import USERS, BotHarness, find_button
from tests.patroni_cluster import PatroniCluster, patroni_cluster_fixture  # noqa: F401

WITHIN = 90.0  # Patroni switches over in seconds; a slow CI machine gets room


def patroni_harness(db_url: str, cluster: PatroniCluster) -> BotHarness:
    rules = {"rules": [
        {"actions": ["switchover", "failover"], "roles": ["responder"],
         "approval": {"roles": ["responder"]}},
        {"actions": ["pause", "resume", "restart", "cancel"], "roles": ["responder"]},
    ]}  # fmt: skip
    return BotHarness(
        db_url,
        roles=ROLES,
        policies=policies(**rules),
        permissions=PERMISSIONS,
        fleet={"backends": [cluster.backend_config()]},
        env=cluster.env,
    )


async def answer(h: BotHarness, user: str, seen: int) -> Any:
    """The next answer to `user`; Patroni's REST API may take seconds while it works."""

    def probe() -> Any:
        posts = [r for r in h.state.responses() if r.user == USERS[user]]
        return posts[seen] if len(posts) > seen else None

    return await h.wait_for(probe, within=WITHIN)


def answered(h: BotHarness, user: str) -> int:
    return len([r for r in h.state.responses() if r.user == USERS[user]])


async def ask(h: BotHarness, user: str, line: str) -> Any:
    seen = answered(h, user)
    await h.command(user, line)
    return await answer(h, user, seen)


async def confirm(h: BotHarness, preview: Any, label: str = "Confirm") -> None:
    """alice clicks a button of her preview, and its answer arrives."""
    seen = answered(h, "alice")
    await h.click("alice", find_button(preview.blocks, label), ephemeral=True)
    await answer(h, "alice", seen)


async def test_switchover_on_a_real_patroni_cluster(
    db_url: str, patroni_cluster: PatroniCluster
) -> None:
    cluster = patroni_cluster
    leader, replica = healthy_leader_and_replica(cluster)
    async with patroni_harness(db_url, cluster) as h:
        # A stranger is refused before anything reaches Patroni.
        refused = await ask(h, "erin", f"/fleet switchover {cluster.name}")
        assert "may not run `switchover`" in refused.text
        preview = await ask(h, "alice", f"/fleet switchover {cluster.name} -- drill")
        shown = text_of(preview)
        assert f"Preview: switchover {cluster.name}" in shown
        assert f"`{replica}` (lag" in shown  # which member becomes primary, and its lag
        await confirm(h, preview)
        approval = copy.deepcopy(await card(h, "Approval needed", within=WITHIN))
        # alice cannot approve her own request.
        await h.click("alice", find_button(approval.blocks, "Approve"), message_ts=approval.ts)
        own = await h.wait_for(
            lambda: [r for r in h.state.responses() if "your own request" in r.text],
            within=WITHIN,
        )
        assert own and cluster.leader() == leader
        await h.click("bob", find_button(approval.blocks, "Approve"), message_ts=approval.ts)
        result = await in_thread(h, approval, "post-check", within=WITHIN)
        assert "succeeded" in result.text and "post-check passed" in result.text
        assert f"`{replica}` is primary" in text_of(result)
        cluster.wait_until_healthy()
        assert cluster.leader() == replica
        await audited_and_verified(h)

        # The approval was for those parameters; other ones need their own.
        other = await ask(h, "alice", f"/fleet switchover {cluster.name} candidate={leader}")
        assert "then approval by" in text_of(other)
        await confirm(h, other)
        second = await h.wait_for(
            lambda: [
                m
                for m in h.state.messages("C0DEMO001")
                if "Approval needed" in m.text and m.ts != approval.ts
            ],
            within=WITHIN,
        )
        assert "Approve" in text_of(second[0])
        await h.click("bob", find_button(second[0].blocks, "Deny"), message_ts=second[0].ts)
        await h.wait_for(
            lambda: [r for r in h.state.responses() if "You denied" in r.text], within=WITHIN
        )
        assert cluster.leader() == replica

        # Paused: the switchover plan says so.
        paused = await ask(h, "alice", f"/fleet pause {cluster.name} -- maintenance")
        await confirm(h, paused)
        pause_card = await card(h, f"pause {cluster.name}", within=WITHIN)
        await in_thread(h, pause_card, "post-check", within=WITHIN)
        plan = await ask(h, "alice", f"/fleet switchover {cluster.name}")
        assert "paused" in text_of(plan)
        await confirm(h, plan, "Cancel")
        resumed = await ask(h, "alice", f"/fleet resume {cluster.name}")
        assert "started as" in resumed.text
        resume_card = await card(h, f"resume {cluster.name}", within=WITHIN)
        await in_thread(h, resume_card, "post-check", within=WITHIN)
        cluster.wait_until_healthy()
