"""The rest of the Patroni repairs on the real two-node cluster, through signed Slack
requests: maintenance (pause shows in the real `patronictl list`, resume clears it), a
pending restart shown in status and cleared by a rolling restart, a scheduled restart,
reinit, failover, the leader history in status; the rollback offered when a switchover's
post-check fails; and the fleet overview with a second, unreachable backend. The long
ones run on PostgreSQL only (the production store) to keep the suite's wall time down."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.load import free_port
from bot.parts import AppParts
from integrations.fleet.models import Service
from tests.actions_support import (
    PERMISSIONS,
    ROLES,
    card,
    finished_requests,
    in_thread,
    policies,
    requests,
    text_of,
)
from tests.harness import USERS, BotHarness, find_button
from tests.patroni_cluster import (
    PATRONICTL,
    PatroniCluster,
    patroni_cluster_fixture,  # noqa: F401
)
from tests.test_actions_patroni import WITHIN, answered, ask, confirm

ALL = ["switchover", "failover", "pause", "resume", "restart", "reinit"]


def ops_harness(db_url: str, cluster: PatroniCluster, **sections: Any) -> BotHarness:
    # No approvals: this module is about what Patroni does; the guards are tested elsewhere.
    rules = {"rules": [{"actions": ALL, "roles": ["responder"]}]}
    fleet = sections.pop("fleet", {"backends": [cluster.backend_config()]})
    return BotHarness(
        db_url,
        roles=ROLES,
        policies=policies(**rules),
        permissions=PERMISSIONS,
        fleet=fleet,
        env=cluster.env,
        **sections,
    )


def patronictl_list(cluster: PatroniCluster) -> str:
    """The real `patronictl list`, reading the DCS through a member's own config."""
    done = subprocess.run(
        [str(PATRONICTL), "-c", str(cluster.base_dir / f"{cluster.members[0]}.yml"), "list"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def run(h: BotHarness, line: str) -> Any:
    """alice asks for an action, confirms it when asked, and its result arrives."""
    answer = await ask(h, "alice", line)
    if "Confirm" in text_of(answer):
        await confirm(h, answer)
    words = line.split()
    root = await card(h, f"{words[1]} {words[2]}", within=WITHIN)
    if "Approval needed" in root.text:  # high risk (failover): another responder approves
        await h.click("bob", find_button(root.blocks, "Approve"), message_ts=root.ts)
    return await in_thread(h, root, "post-check", within=WITHIN)


async def status(h: BotHarness, line: str) -> str:
    seen = answered(h, "bob")
    await h.command("bob", line)

    def probe() -> Any:
        posts = [r for r in h.state.responses() if r.user == USERS["bob"]]
        return posts[seen] if len(posts) > seen else None

    return text_of(await h.wait_for(probe, within=WITHIN))


def patroni(cluster: PatroniCluster, method: str, member: str, path: str, **body: Any) -> str:
    """A call a DBA makes by hand (the test's own, not the bot's)."""
    answer = httpx.request(
        method,
        cluster.rest_urls[member] + path,
        json=body or None,
        auth=(cluster.username, cluster.password),
        timeout=30,
    )
    assert answer.status_code < 300, answer.text
    return answer.text


def pending_restart(cluster: PatroniCluster) -> set[str]:
    return {m["name"] for m in cluster.cluster()["members"] if m.get("pending_restart")}


async def test_maintenance_restarts_reinit_failover_and_history(
    pg_url: str, patroni_cluster: PatroniCluster
) -> None:
    cluster = patroni_cluster
    cluster.wait_until_healthy()
    name = cluster.name
    async with ops_harness(pg_url, cluster) as h:
        # Maintenance: Patroni's pause, as the real patronictl shows it.
        assert "Maintenance mode: on" not in patronictl_list(cluster)
        paused = await run(h, f"/fleet pause {name} -- maintenance window")
        assert "succeeded" in paused.text and "post-check passed" in paused.text
        assert "Maintenance mode: on" in patronictl_list(cluster)
        assert "paused" in await status(h, f"/fleet status {name}")
        resumed = await run(h, f"/fleet resume {name}")
        assert "post-check passed" in resumed.text
        assert "Maintenance mode: on" not in patronictl_list(cluster)

        # A parameter that needs a restart: status says so; a rolling restart clears it.
        # (A `postmaster` setting Patroni does not pass on the command line, so PostgreSQL
        # itself reports it pending: max_connections would not be.)
        config = json.loads(patroni(cluster, "GET", cluster.members[0], "/config"))
        files = int(config["postgresql"]["parameters"].get("max_files_per_process", 1000))
        patroni(
            cluster,
            "PATCH",
            cluster.members[0],
            "/config",
            postgresql={"parameters": {"max_files_per_process": files + 1}},
        )
        cluster.wait_for(
            "pending restarts", lambda: pending_restart(cluster) == set(cluster.members)
        )
        assert "*pending restart*" in await status(h, f"/fleet status {name}")
        restarted = await run(h, f"/fleet restart {name} -- apply max_connections")
        assert "succeeded" in restarted.text and "post-check passed" in restarted.text
        cluster.wait_for("no pending restart", lambda: not pending_restart(cluster))

        # A scheduled restart: Patroni holds it; status shows it; the DBA drops it.
        leader = cluster.leader()
        (replica,) = cluster.replicas()
        at = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
        scheduled = await run(h, f"/fleet restart {name} member={replica} at={at.isoformat()}")
        assert "succeeded" in scheduled.text
        shown = await status(h, f"/fleet status {name}")
        assert f"restart scheduled {at.isoformat()}" in shown
        held = json.loads(patroni(cluster, "GET", replica, "/patroni"))["scheduled_restart"]
        assert datetime.fromisoformat(held["schedule"]) == at
        patroni(cluster, "DELETE", replica, "/restart")

        # Reinit rebuilds the replica from the leader.
        rebuilt = await run(h, f"/fleet reinit {name} member={replica} -- rebuild")
        assert "succeeded" in rebuilt.text and "post-check passed" in rebuilt.text
        cluster.wait_until_healthy()

        # Failover (high risk) promotes the replica; history records it.
        failed_over = await run(h, f"/fleet failover {name} candidate={replica} -- drill")
        assert "succeeded" in failed_over.text and f"`{replica}` is primary" in text_of(failed_over)
        cluster.wait_until_healthy()
        assert cluster.leader() == replica and leader != replica
        history = await status(h, f"/fleet status {name}")
        assert "Leader history" in history and f"`{replica}` became leader" in history


class ReportsUnhealthy:
    """The seam: the real Patroni backend, except that once armed its reads say the
    cluster is degraded, so the post-check after a real switchover fails."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.armed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    async def get_service(self, name: str) -> Service:
        service: Service = await self._real.get_service(name)
        return service.model_copy(update={"health": "degraded"}) if self.armed else service

    async def list_services(self) -> Any:
        return await self._real.list_services()

    async def plan(self, *args: Any, **kwargs: Any) -> Any:
        return await self._real.plan(*args, **kwargs)

    async def start_operation(self, *args: Any, **kwargs: Any) -> Any:
        return await self._real.start_operation(*args, **kwargs)

    async def get_operation(self, *args: Any, **kwargs: Any) -> Any:
        return await self._real.get_operation(*args, **kwargs)

    async def cancel_operation(self, *args: Any, **kwargs: Any) -> Any:
        return await self._real.cancel_operation(*args, **kwargs)

    async def list_operations(self, *args: Any, **kwargs: Any) -> Any:
        return await self._real.list_operations(*args, **kwargs)

    async def aclose(self) -> None:
        await self._real.aclose()


async def test_a_failed_post_check_offers_the_switchover_back_through_the_guards(
    pg_url: str, patroni_cluster: PatroniCluster
) -> None:
    cluster = patroni_cluster
    cluster.wait_until_healthy()
    before = cluster.leader()
    (replica,) = cluster.replicas()
    seam: list[ReportsUnhealthy] = []

    def wrap(parts: AppParts) -> None:
        assert parts.fleet is not None
        router = parts.fleet
        real = router.backend_for(cluster.name)
        seam.append(ReportsUnhealthy(real))
        router._backends = [(n, p, seam[0]) for n, p, _b in router._backends]

    async with ops_harness(pg_url, cluster, customize=wrap) as h:
        preview = await ask(h, "alice", f"/fleet switchover {cluster.name} -- drill")
        seam[0].armed = True  # the plan was real; the reads after it say "degraded"
        await confirm(h, preview)
        root = await card(h, f"switchover {cluster.name}", within=WITHIN)
        result = await in_thread(h, root, "post-check", within=WITHIN)
        seam[0].armed = False
        assert "post-check failed" in result.text
        # The switchover really happened; the offer is the way back, pre-filled.
        assert cluster.leader() == replica
        offered = text_of(result)
        assert f"switchover {cluster.name} candidate={before}" in offered
        button = find_button(result.blocks, "Start the rollback request")
        assert len(await requests(h)) == 1  # offered, never started by itself

        # carol (an auditor, no responder) clicks: the policy refuses her.
        seen = len(h.state.responses())
        await h.click("carol", button, message_ts=result.ts)
        refused = await h.wait_for(lambda: h.state.responses()[seen:], within=WITHIN)
        assert "may not run `switchover`" in text_of(refused[0])
        # bob clicks: a new request of his, previewed like a typed one; he confirms.
        seen_bob = answered(h, "bob")
        await h.click("bob", button, message_ts=result.ts)

        def bobs_preview() -> Any:
            posts = [r for r in h.state.responses() if r.user == USERS["bob"]]
            return posts[seen_bob] if len(posts) > seen_bob else None

        back = await h.wait_for(bobs_preview, within=WITHIN)
        assert f"Preview: switchover {cluster.name}" in text_of(back)
        await h.click("bob", find_button(back.blocks, "Confirm"), ephemeral=True)
        made = await finished_requests(h, 3, WITHIN)
        # carol's click made a request the policy denied; bob's ran.
        assert made[1].requester_id == USERS["carol"] and made[1].state == "denied"
        made = [made[0], made[2]]
        cluster.wait_until_healthy()
        assert cluster.leader() == before
        assert made[1].requester_id == USERS["bob"]
        assert made[1].params == f'{{"candidate": "{before}"}}'
        assert made[1].state == "succeeded"
        assert "rollback of switchover request" in (made[1].reason or "")


async def test_the_overview_shows_an_unreachable_backend_as_unknown_beside_a_healthy_one(
    db_url: str, patroni_cluster: PatroniCluster
) -> None:
    cluster = patroni_cluster
    cluster.wait_until_healthy()
    # A second data centre whose Patroni nobody answers for (nothing listens there).
    gone = {
        "name": "pg-dc2",
        "type": "patroni",
        "clusters": {"pg-gone": [f"http://127.0.0.1:{free_port()}"]},
    }
    fleet = {"backends": [cluster.backend_config("pg-dc1"), gone]}
    async with ops_harness(db_url, cluster, fleet=fleet) as h:
        shown = await status(h, "/fleet status")
    assert "*pg-dc1* · `patroni` · 1 services" in shown
    assert f":large_green_circle: `{cluster.name}`" in shown
    assert "*pg-dc2* · `patroni` · :white_circle: *unknown*" in shown
    assert "pg-gone" in shown and ":large_green_circle: `pg-gone`" not in shown
    assert "Fleet: 1 services from 2 backends, 1 unknown" in shown
