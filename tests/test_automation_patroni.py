"""Automation on a real two-node Patroni cluster with etcd on loopback: an Alertmanager
replica-lag page for the replica, delivered to the bot's own webhook, makes the bot
reinitialize that replica through Patroni, by itself; the post-check passes and the
incident thread and the audit log say so."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from bot.audit.hash_chain import KeyRing
from bot.audit.verifier import verify
from tests.actions_support import healthy_leader_and_replica, policies
from tests.automation_support import (
    AUTOMATION_ROLES,
    ROTATION,
    decisions,
    finished,
    runbook,
    settle,
    thread_texts,
)
from tests.harness import BotHarness
from tests.incident_helpers import audit_rows
from tests.intake_helpers import AM_TOKEN, intake_section
from tests.patroni_cluster import PatroniCluster, patroni_cluster_fixture  # noqa: F401


def replica_lag_delivery(cluster: str, member: str) -> dict[str, object]:
    """An Alertmanager 0.25 webhook (version 4) with one firing replica-lag alert."""
    labels = {"alertname": "PostgresReplicationLag", "service": cluster, "cluster": cluster,
              "kind": "postgres", "member": member, "severity": "warning"}  # fmt: skip
    alert = {
        "status": "firing", "labels": labels,
        "annotations": {"summary": f"Replica {member} is far behind"},
        "startsAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "",
        "fingerprint": f"lag{abs(hash(member)) % 10**12:012d}",
    }  # fmt: skip
    return {
        "receiver": "watchkeeper", "status": "firing", "alerts": [alert],
        "groupLabels": {"alertname": "PostgresReplicationLag", "cluster": cluster},
        "commonLabels": labels, "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager:9093", "version": "4",
        "groupKey": f'{{}}:{{alertname="PostgresReplicationLag", cluster="{cluster}"}}',
        "truncatedAlerts": 0,
    }  # fmt: skip


async def test_a_replica_lag_page_reinitializes_the_replica_on_patroni(
    db_url: str, patroni_cluster: PatroniCluster
) -> None:
    cluster = patroni_cluster
    leader, replica = healthy_leader_and_replica(cluster)
    rules = [{"actions": ["reinit"], "roles": ["responder", "automation"]}]
    async with BotHarness(
        db_url,
        roles=AUTOMATION_ROLES,
        policies=policies(rules=rules),
        fleet={"backends": [cluster.backend_config()]},
        env=cluster.env,
        intake=intake_section(),
        # The test cluster cannot be made to lag on demand: here the runbook's condition
        # is a running replica, which the confirm step still reads from Patroni.
        runbooks=[runbook(confirm={"states": ["running"]})],
        oncall={"rotations": [ROTATION]},
        routing={"default_oncall": "databases"},
    ) as h:
        rt = h.bot.runtime
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                h.url + "/hooks/alertmanager",
                content=json.dumps(replica_lag_delivery(cluster.name, replica)),
                headers={"Authorization": f"Bearer {AM_TOKEN}",
                         "Content-Type": "application/json"},
            )  # fmt: skip
        assert answer.status_code == 200, answer.text
        (run,) = await settle(h, finished(1), within=60)
        assert run.state == "succeeded", run.detail
        texts = await thread_texts(h, "Fixed without waking anyone", within=20)
        said = "\n".join(texts)
        assert f"`reinit {cluster.name} member={replica}`" in said
        assert "post-check passed" in said
        cluster.wait_until_healthy()
        assert cluster.leader() == leader and cluster.replicas() == [replica]
        finished_rows = await audit_rows(rt, "operation.finished")
        assert [(r.actor, r.outcome) for r in finished_rows] == [
            ("watchkeeper:automation", "succeeded")
        ]
        assert [r.outcome for r in await audit_rows(rt, "operation.post_check")] == ["succeeded"]
        assert [d.outcome for d in await decisions(rt)] == ["accepted", "succeeded"]
        async with rt.engine.connect() as conn:
            assert (await verify(conn, KeyRing.from_config(h.config.audit))).ok
