"""A bot process SIGKILLed in the middle of a Patroni switchover, on the real cluster.

Patroni has no notion of an operation: what the killed process asked lived in its memory.
The next process finds the request still executing in the database, learns that its
backend no longer knows the operation, and watches it again from the durable record
(bot/actions/resume.py): it reports the real outcome and the post-check in the thread,
and Patroni receives exactly one switchover request (its own log and `/history` say so).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.actions.models import ActionRequest
from bot.audit.models import AuditEntry
from tests.bot_process import Replicas, eventually
from tests.harness import find_button
from tests.patroni_cluster import PatroniCluster, patroni_cluster_fixture  # noqa: F401

pytestmark = pytest.mark.integration

ALICE = "UALICE01"
CHANNEL = "C0PGKILL1"
WITHIN = 90.0


def switchovers_received(cluster: PatroniCluster) -> int:
    """`POST /switchover` requests Patroni logged, over every member."""
    return sum(
        (cluster.base_dir / f"{member}.log")
        .read_text(errors="replace")
        .count("received switchover request")
        for member in cluster.members
    )


def history(cluster: PatroniCluster) -> list[Any]:
    found: list[Any] = httpx.get(cluster.urls[0] + "/history", timeout=5).json()
    return found


async def the_request(db: AsyncEngine) -> Any:
    async with db.connect() as conn:
        return (await conn.execute(select(ActionRequest))).one()


async def test_sigkill_mid_switchover_is_reported_by_the_next_process_and_never_rerun(
    pg_url: str, db: AsyncEngine, replicas: Replicas, patroni_cluster: PatroniCluster
) -> None:
    cluster = patroni_cluster
    cluster.wait_until_healthy()
    leader = cluster.leader()
    (replica,) = cluster.replicas()
    asked_before, timelines_before = switchovers_received(cluster), len(history(cluster))
    config = replicas.config(
        pg_url,
        channels={"default": CHANNEL},
        policies={"rules": [{"actions": ["switchover"], "roles": ["responder"]}]},
    )
    # The real cluster instead of the group's simulator process.
    raw = yaml.safe_load(config.read_text())
    raw["fleet"] = {"backends": [cluster.backend_config()]}
    config.write_text(yaml.safe_dump(raw))
    bot = replicas.make("replica", config)
    bot.env = cluster.env
    await replicas.start(bot)
    standin = replicas.standin
    seen = await standin.last_event()
    sender = bot.sender(standin)
    await sender.command(
        "/fleet", f"switchover {cluster.name} -- drill",
        user_id=ALICE, user_name="alice", channel_id=CHANNEL,
    )  # fmt: skip

    async def preview() -> dict[str, Any] | None:
        answers = await standin.responses(ALICE, since=seen)
        return answers[0] if answers else None

    confirm = find_button((await eventually(preview, WITHIN, "the preview"))["blocks"], "Confirm")
    click = {key: confirm[key] for key in ("action_id", "text", "value") if key in confirm}
    await sender.interaction(
        sender.block_action_payload(
            user_id=ALICE,
            user_name="alice",
            channel_id=CHANNEL,
            action={**click, "block_id": "b"},
            message={},
            message_ts=None,
            ephemeral=True,
        )
    )

    async def sent_to_patroni() -> bool:
        recorded = (await the_request(db)).operation_id is not None
        return recorded and switchovers_received(cluster) > asked_before

    # The operation is on the request's record and Patroni has the request (its log says
    # so) and is switching over: kill the bot now.
    await eventually(sent_to_patroni, WITHIN, "the switchover request at Patroni")
    bot.kill()
    row = await the_request(db)
    assert row.state == "executing" and row.operation_id is not None

    bot.start()
    await bot.wait_ready("/readyz")

    async def finished() -> Any:
        found = await the_request(db)
        return found if found.state not in ("executing", "unknown") else None

    done = await eventually(finished, WITHIN, "the request's end after the restart")
    assert done.state == "succeeded", done.detail
    assert done.operation_id == row.operation_id
    cluster.wait_until_healthy()
    assert cluster.leader() == replica and leader != replica
    # Asked once, switched once: the new process sent nothing again.
    assert switchovers_received(cluster) == asked_before + 1
    assert len(history(cluster)) == timelines_before + 1

    async def reported() -> str | None:
        texts = "\n".join(str(e.get("text")) for e in await standin.events(CHANNEL))
        return texts if "post-check passed" in texts else None

    said = await eventually(reported, WITHIN, "the result in Slack")
    assert "The bot restarted while" in said and "nothing is sent to it again" in said
    async with db.connect() as conn:
        rows = (await conn.execute(select(AuditEntry.action, AuditEntry.outcome))).all()
    assert ("operation.reconciled", "resumed") in [tuple(r) for r in rows]
    assert [r[0] for r in rows].count("operation.started") == 1
    assert json.loads(done.params) == {}
