"""Shared pieces of the action tests: a policy, and looking at the fleet and the channel."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from bot.audit.hash_chain import KeyRing
from bot.audit.verifier import verify
from bot.parts import AppParts
from standins.fleet.simulator import FleetSimulation, create_app
from standins.fleet.simulator.backend import SimulatorFleet
from standins.loopback import LoopbackServer
from standins.slack.models import Message
from tests.conftest import shipped_permissions
from tests.harness import CHANNEL, USERS, BotHarness

if TYPE_CHECKING:
    from bot.actions.port import ActionFleet
    from integrations.fleet.models import Operation
    from tests.patroni_cluster import PatroniCluster

ROLES = {
    "responder": {"users": [USERS["alice"], USERS["bob"], USERS["dave"]]},
    "auditor": {"users": [USERS["carol"]]},
}
# The guard chain decides who may act in these tests: the permission step lets every
# fleet verb through to it (tests/test_permissions.py covers the step itself).
PERMISSIONS = {**shipped_permissions(), "fleet.*": ["anyone"]}
MUTATING = ["restart", "replace", "reinit", "maintenance", "pause", "resume", "rotate-credentials"]


def policies(**overrides: Any) -> dict[str, Any]:
    """alice, bob and dave are responders; switchover/failover need another's approval."""
    raw: dict[str, Any] = {
        "rules": [
            {
                "actions": ["switchover", "failover"],
                "resources": ["pg-*", "redis-*"],
                "roles": ["responder"],
                "approval": {"roles": ["responder"], "count": 1, "expires_minutes": 15},
            },
            {"actions": [*MUTATING, "cancel"], "resources": ["*"], "roles": ["responder"]},
        ],
        "break_glass_roles": ["responder"],
        "tracking_interval_seconds": 0.2,
    }
    raw.update(overrides)
    return raw


def harness(
    db_url: str,
    *,
    fleet: dict[str, Any] | None = None,
    owner: str | None = None,
    customize: Callable[[AppParts], None] | None = None,
    slack_of: BotHarness | None = None,
    **overrides: Any,
) -> BotHarness:
    """The whole bot with the test policy; `fleet` replaces the embedded simulator, `owner`
    names the replica (two bots sharing a database must have different names),
    `customize` changes the parts before the runtime freezes."""
    sections: dict[str, Any] = {
        "roles": ROLES,
        "policies": policies(**overrides),
        "permissions": PERMISSIONS,
    }
    if fleet is not None:
        sections["fleet"] = {"backends": [fleet]}
    return BotHarness(db_url, owner=owner, customize=customize, slack_of=slack_of, **sections)


def sim_url(h: BotHarness) -> str:
    simulator = h.bot.fleet.backends["sim"]
    assert isinstance(simulator, SimulatorFleet)
    return simulator.url


async def fleet_operations(h: BotHarness, service: str | None = None) -> list[dict[str, Any]]:
    """What the simulator has been asked to run: the proof of (non-)execution."""
    async with httpx.AsyncClient() as client:
        params = {"service": service} if service else {}
        answer = await client.get(sim_url(h) + "/v1/operations", params=params)
        items: list[dict[str, Any]] = answer.json()["items"]
        return items


async def fleet_service(h: BotHarness, name: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        found: dict[str, Any] = (await client.get(sim_url(h) + f"/v1/services/{name}")).json()
        return found


async def sim_control(h: BotHarness, path: str, body: dict[str, Any] | None = None) -> None:
    async with httpx.AsyncClient() as client:
        if body is None:
            answer = await client.delete(sim_url(h) + path)
        else:
            answer = await client.post(sim_url(h) + path, json=body)
        answer.raise_for_status()


def text_of(message: Any) -> str:
    return f"{message.text} {message.blocks!r}"


async def card(
    h: BotHarness, contains: str, channel: str = CHANNEL, within: float = 10.0
) -> Message:
    """The newest top-level channel message whose text contains `contains`.

    Thread replies are skipped: a progress reply repeats the action's words, and taking it
    for the card made a later `in_thread` wait under a reply that has no thread.
    """

    def probe() -> Message | None:
        found = [
            m
            for m in h.state.messages(channel)
            if m.thread_ts in (None, m.ts) and contains in text_of(m)
        ]
        return found[-1] if found else None

    return await h.wait_for(probe, within=within)


async def in_thread(
    h: BotHarness, root: Message, contains: str, within: float = 15.0, channel: str = CHANNEL
) -> Message:
    def probe() -> Message | None:
        replies = [m for m in h.state.thread(channel, root.ts) if m.ts != root.ts]
        found = [m for m in replies if contains in text_of(m)]
        return found[-1] if found else None

    try:
        return await h.wait_for(probe, within=within)
    except AssertionError:
        shown = "\n".join(
            f"{m.ts} thread={m.thread_ts} {m.text[:140]!r}" for m in h.state.messages(channel)
        )
        where = f"no reply with {contains!r} under {root.ts}"
        raise AssertionError(f"{where}; channel:\n{shown}") from None


def primary_of(service: dict[str, Any]) -> str:
    return next(m["name"] for m in service["members"] if m["role"] == "primary")


def healthy_leader_and_replica(cluster: PatroniCluster) -> tuple[str | None, str]:
    """The two-node cluster's leader and its one replica, once the cluster is healthy."""
    cluster.wait_until_healthy()
    (replica,) = cluster.replicas()
    return cluster.leader(), replica


async def _buffered(receive: Any) -> Any:
    """The request body read now, replayed later to an app that reads it late."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body"):
            break

    async def replay() -> Any:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    return replay


class FleetUnderTest:
    """The simulator served on loopback behind a switchboard that can count, slow down,
    fail or cut the *start* of operations only (plans and reads pass), for fault tests and
    for two bots sharing one fleet."""

    def __init__(self, seed: int = 7, size: int = 60) -> None:
        self.sim = FleetSimulation.seeded(seed, size)
        self._app = create_app(self.sim)
        self.calls: Counter[str] = Counter()
        self.start_delay = 0.0
        self.start_status: int | None = None
        self._server = LoopbackServer(self)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            kind = "start" if path.endswith("/operations") and method == "POST" else None
            kind = kind or ("plan" if path.endswith("/plans") else None)
            if kind:
                self.calls[kind] += 1
            if kind == "start" and self.start_status is not None:
                body = json.dumps({"error": "unavailable", "message": "control plane restarting"})
                await send({"type": "http.response.start", "status": self.start_status,
                            "headers": [(b"content-type", b"application/json")]})  # fmt: skip
                await send({"type": "http.response.body", "body": body.encode()})
                return
            if kind == "start" and self.start_delay:
                # The caller gives up first; the operation still starts, as on a slow fleet
                # that had read the request before it stalled.
                receive = await _buffered(receive)
                await asyncio.sleep(self.start_delay)
        await self._app(scope, receive, send)

    @property
    def url(self) -> str:
        return self._server.url

    def backend(self, timeout: float = 5.0) -> dict[str, Any]:
        return {"name": "fleet", "type": "http", "url": self.url, "timeout_seconds": timeout}

    async def __aenter__(self) -> FleetUnderTest:
        await self._server.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()


async def audit_rows(h: BotHarness, request_id: str | None = None) -> list[Any]:
    """Audit rows about one request (by ref or params.request), oldest first; all without."""
    from sqlalchemy import select

    from bot.audit.models import AuditEntry

    async with h.bot.runtime.sessions() as session:
        rows = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    if request_id is None:
        return rows
    return [
        r for r in rows if r.ref == request_id or json.loads(r.params).get("request") == request_id
    ]


async def requests(h: BotHarness) -> list[Any]:
    from sqlalchemy import select

    from bot.actions.models import ActionRequest

    async with h.bot.runtime.sessions() as session:
        return list(await session.scalars(select(ActionRequest).order_by(ActionRequest.created_at)))


async def only_request(h: BotHarness) -> Any:
    found = await requests(h)
    assert len(found) == 1, found
    return found[0]


async def nothing_ran(h: BotHarness) -> None:
    """Once every click and command under way has finished: the fleet was never asked to
    run anything (the simulator's own list is the proof)."""
    await h.quiet()
    assert await fleet_operations(h) == []


# The audit steps of one approved request, from the first guard to the post-check.
APPROVED_FLOW_STEPS = (
    "guard.decided",
    "confirmation",
    "approval.requested",
    "approval.decided",
    "operation.requested",
    "operation.started",
    "operation.finished",
    "operation.post_check",
)


async def audited_and_verified(h: BotHarness) -> None:
    """Every step of an approved request is in the audit log, and the chain verifies."""
    actions = {r.action for r in await audit_rows(h)}
    assert set(APPROVED_FLOW_STEPS) <= actions, sorted(set(APPROVED_FLOW_STEPS) - actions)
    async with h.bot.runtime.engine.connect() as conn:
        assert (await verify(conn, KeyRing.from_config(h.config.audit))).ok


async def finished(fleet: ActionFleet, op: Operation, within: float = 60.0) -> Operation:
    """Poll `get_operation` (as the core's tracking does) until the operation ends."""
    deadline = time.monotonic() + within
    while not op.finished:
        assert time.monotonic() < deadline, f"operation still {op.state}: {op.steps}"
        await asyncio.sleep(0.2)
        op = await fleet.get_operation(op.id)
    return op


async def finished_requests(h: BotHarness, count: int, within: float = 90.0) -> list[Any]:
    """The requests, oldest first, once there are `count` and the last one has finished."""
    import time

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        made = await requests(h)
        if len(made) == count and made[-1].state in ("succeeded", "failed", "denied"):
            return made
        await asyncio.sleep(0.2)
    raise AssertionError(f"not {count} finished requests: {await requests(h)}")
