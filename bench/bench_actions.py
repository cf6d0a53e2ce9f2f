"""Guarded actions: the time from a Confirm click to the operation accepted by the fleet,
and the cost of one guard-chain evaluation.

1. Confirm → accepted: the whole bot in this process (signed click through the real
   Bolt app, the guard chain with a fresh fleet plan, the claim, audit rows, the outbox
   rows), against the simulator on loopback; the clock stops when the simulator answers
   the operation's 202. Baseline: the same start call made directly with `HttpFleet` to
   the same simulator, i.e. the part no bot can save.
2. Guard chain: the full chain (every guard of the chain) on a realistic policy and
   facts (20 rules, fixed and cron freezes, rate limits over 200 recent executions).
   Baseline: evaluating an empty chain, same run (the harness cost).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import timeit
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.report import Figure, Target, print_figures
from bench.sizes import scaled_count
from bot.actions.catalog import params_hash
from bot.actions.guard_chain import Facts, GuardContext, Person, RequestView, evaluate
from bot.actions.guards import full_chain
from bot.actions.policy import PoliciesConfig
from bot.roles import RoleBinding
from integrations.fleet.http import HttpFleet
from integrations.fleet.models import Change, Member, Plan, Service
from standins.fleet.simulator import FleetSimulation, create_app
from standins.loopback import LoopbackServer

# The in-process bot of the scenario tests: signed requests, the Slack stand-in.
from tests.harness import USERS, BotHarness, find_button

TITLE = "Guarded actions: Confirm → operation accepted, and the guard chain"
CLICKS = scaled_count(40, 4)
CHAIN_RUNS = scaled_count(2_000, 200)


class Stopwatch:
    """The simulator behind a wrapper that notes when each operation's 202 goes out."""

    def __init__(self) -> None:
        self.sim = FleetSimulation.seeded(7, 240)
        self._app = create_app(self.sim)
        self.accepted: list[float] = []
        self.server = LoopbackServer(self)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        starting = scope["type"] == "http" and scope["method"] == "POST"
        starting = starting and scope["path"].endswith("/operations")

        async def timed(message: dict[str, Any]) -> None:
            if starting and message["type"] == "http.response.start":
                self.accepted.append(time.perf_counter())
            await send(message)

        await self._app(scope, receive, timed)


def _policy() -> dict[str, Any]:
    return {
        "rules": [{"actions": ["restart"], "roles": ["responder"]}],
        "max_concurrent_operations": 10_000,
        "tracking_interval_seconds": 60,
    }


async def _confirm_to_accepted(tmp: Path) -> tuple[list[float], list[float]]:
    watch = Stopwatch()
    await watch.server.start()
    backend = {"name": "fleet", "type": "http", "url": watch.server.url}
    services = [n for n in watch.sim.names() if n.startswith("pg-")][:CLICKS]
    bot_ms: list[float] = []
    try:
        async with BotHarness(
            f"sqlite+aiosqlite:///{tmp}/bench.db",
            roles={"responder": {"users": [USERS["alice"]]}},
            policies=_policy(),
            fleet={"backends": [backend]},
        ) as h:
            for i, name in enumerate(services, 1):
                await h.command("alice", f"/fleet restart {name}")
                preview = await h.wait_for_response("alice", count=2 * i - 1)
                before = len(watch.accepted)
                clicked = time.perf_counter()
                await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
                await h.wait_for(lambda n=before: len(watch.accepted) > n, within=30)
                bot_ms.append((watch.accepted[-1] - clicked) * 1000)
                await h.wait_for_response("alice", count=2 * i)
        direct_ms = await _direct_starts(watch, services)
    finally:
        await watch.server.stop()
    return bot_ms, direct_ms


async def _direct_starts(watch: Stopwatch, services: list[str]) -> list[float]:
    """The baseline: the start call alone, on services with nothing running."""
    idle = [n for n in watch.sim.names() if n.startswith("redis-")][: len(services)]
    out: list[float] = []
    async with HttpFleet(watch.server.url) as fleet:
        for i, name in enumerate(idle):
            began = time.perf_counter()
            await fleet.start_operation(name, "restart", {}, "UBENCH01", f"bench-{i}")
            out.append((time.perf_counter() - began) * 1000)
    return out


def _chain_context() -> GuardContext:
    now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    rules = [
        {"actions": ["switchover"], "resources": [f"pg-team{i}-*"], "roles": ["responder"]}
        for i in range(19)
    ] + [
        {
            "actions": ["restart"],
            "resources": ["pg-*"],
            "roles": ["responder"],
            "require_oncall": True,
        }
    ]
    policy = PoliciesConfig.model_validate(
        {
            "rules": rules,
            "freeze": [
                {
                    "name": "year end",
                    "start": "2026-12-31T00:00:00Z",
                    "end": "2027-01-02T00:00:00Z",
                },
                {"name": "weekends", "cron": "0 18 * * 5", "duration_minutes": 3600},
            ],
            "rate_limits": [
                {"per": "service", "limit": 50, "window_minutes": 60},
                {"per": "action", "limit": 500, "window_minutes": 1440},
            ],
        }
    )
    roles = {
        "responder": RoleBinding(users=[f"U{i:08d}" for i in range(200)] + ["UALICE01"]),
        "oncall": RoleBinding(users=["UALICE01"]),
    }
    request = RequestView(
        id="r1",
        action="restart",
        target="pg-orders",
        params={},
        params_hash=params_hash("restart", "pg-orders", {}),
        requester=Person("UALICE01", "alice"),
    )
    recent = [("restart", f"pg-{i % 40}", now - timedelta(minutes=i)) for i in range(200)]
    members = [
        Member(name=f"pg-orders-{i}", role="replica", state="running", healthy=True)
        for i in range(1, 4)
    ]
    service = Service(
        name="pg-orders", kind="postgres", plan="p", region="r", health="healthy", members=members
    )
    plan = Plan(
        action="restart",
        target="pg-orders",
        allowed=True,
        risk="medium",
        estimated_seconds=6,
        steps=["restart pg-orders-2"],
        changes=[Change(member="pg-orders-2", attribute="state", after="running")],
    )
    facts = Facts(now=now, recent=recent, plan=plan, service=service)
    return GuardContext("confirm", request, policy, roles, facts)


def _chain_us() -> tuple[float, float]:
    ctx = _chain_context()
    guards = full_chain()
    assert evaluate(guards, ctx).outcome == "allowed"

    def per_run(chain: Any) -> float:
        best = min(timeit.repeat(lambda: evaluate(chain, ctx), number=CHAIN_RUNS, repeat=5))
        return best / CHAIN_RUNS * 1e6

    return per_run(guards), per_run(())


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        bot_ms, direct_ms = asyncio.run(_confirm_to_accepted(Path(tmp)))
    full, empty = _chain_us()
    base = "direct HttpFleet start"
    p95 = sorted(bot_ms)[int(len(bot_ms) * 0.95) - 1]
    p95_direct = sorted(direct_ms)[int(len(direct_ms) * 0.95) - 1]
    return [
        Figure(
            "Confirm → accepted, p50",
            statistics.median(bot_ms),
            "ms",
            base,
            statistics.median(direct_ms),
            higher_is_better=False,
        ),
        Figure(
            "Confirm → accepted, p95",
            p95,
            "ms",
            base,
            p95_direct,
            target=Target(3000),
            higher_is_better=False,
        ),
        Figure(
            "guard chain, per evaluation", full, "µs", "empty chain", empty, higher_is_better=False
        ),
    ]


if __name__ == "__main__":
    print_figures(TITLE, run())
