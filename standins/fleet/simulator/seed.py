"""A deterministic fleet: the same seed always yields the same services, byte for byte.

A few well-known services (`pg-orders`, `pg-billing`, ...) are always there and healthy so
demos and tests can name them; the rest are generated, with a small share of them
degraded, down or paused, as in any real fleet at 3 a.m.
"""

from __future__ import annotations

import random
import zlib

from integrations.fleet.models import ServiceKind
from standins.fleet.simulator.state import LAG_DEGRADED_BYTES, SimMember, SimService, host_for

REGIONS = ("eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-1")
WORDS = (
    "accounts", "analytics", "auth", "billing", "carts", "catalog", "checkout", "claims",
    "clicks", "content", "coupons", "crm", "devices", "documents", "emails", "events",
    "feeds", "fraud", "geo", "identity", "invoices", "jobs", "ledger", "leads", "loyalty",
    "media", "messages", "metrics", "notifications", "orders", "partners", "payments",
    "payouts", "pricing", "profiles", "quotes", "ratings", "refunds", "reports", "reviews",
    "risk", "search", "sessions", "shipping", "signals", "stock", "subscriptions", "tax",
    "telemetry", "tickets", "tracking", "users", "vendors", "wallets", "warehouse",
)  # fmt: skip
PREFIX: dict[ServiceKind, str] = {"postgres": "pg", "redis": "redis", "kafka": "kafka"}
KIND_WEIGHTS: dict[ServiceKind, int] = {"postgres": 55, "redis": 25, "kafka": 20}
# (plan, replica count); every Redis plan has exactly one replica, Kafka three brokers.
PG_PLANS = (("startup-4", 1), ("business-8", 2), ("premium-16", 2))
REDIS_PLANS = ("business-4", "business-8", "premium-16")
KAFKA_PLANS = ("business-4", "premium-8")
VERSIONS: dict[ServiceKind, tuple[str, ...]] = {
    "postgres": ("15.8", "16.4", "17.2"),
    "redis": ("7.2.5", "7.4.1"),
    "kafka": ("3.7.1", "3.8.0"),
}
# (name, kind, plan, region, version, replicas)
ANCHORS: tuple[tuple[str, ServiceKind, str, str, str, int], ...] = (
    ("pg-orders", "postgres", "business-8", "eu-west-1", "16.4", 2),
    ("pg-billing", "postgres", "premium-16", "eu-west-1", "16.4", 2),
    ("redis-sessions", "redis", "business-4", "eu-west-1", "7.2.5", 1),
    ("kafka-events", "kafka", "premium-8", "eu-west-1", "3.7.1", 0),
)
# Every service carries a `team` tag, drawn from its name so the seed's draws stay as
# they were before tags existed.
TEAMS = ("payments", "identity", "data", "platform", "growth")
DEGRADED_SHARE = 0.04
DOWN_SHARE = 0.01
PAUSED_SHARE = 0.02


def team_of(name: str) -> str:
    return TEAMS[zlib.crc32(name.encode()) % len(TEAMS)]


def _members(
    rng: random.Random, name: str, kind: ServiceKind, region: str, replicas: int
) -> list[SimMember]:
    if kind == "kafka":
        return [
            SimMember(name=f"{name}-{i}", role="broker", host=host_for(f"{name}-{i}", region))
            for i in (1, 2, 3)
        ]
    members = [SimMember(name=f"{name}-1", role="primary", host=host_for(f"{name}-1", region))]
    for i in range(2, replicas + 2):
        member = f"{name}-{i}"
        lag = rng.randrange(0, 64 * 1024)
        members.append(
            SimMember(name=member, role="replica", host=host_for(member, region), lag_bytes=lag)
        )
    return members


def _service(rng: random.Random, name: str, kind: ServiceKind, region: str) -> SimService:
    version = rng.choice(VERSIONS[kind])
    if kind == "postgres":
        plan, replicas = rng.choice(PG_PLANS)
    elif kind == "redis":
        plan, replicas = rng.choice(REDIS_PLANS), 1
    else:
        plan, replicas = rng.choice(KAFKA_PLANS), 0
    members = _members(rng, name, kind, region, replicas)
    return SimService(
        name=name, kind=kind, plan=plan, region=region, version=version, members=members,
        tags={"team": team_of(name)},
    )  # fmt: skip


def _spoil(rng: random.Random, service: SimService) -> None:
    """Make a generated service unwell, or paused, for a small share of the fleet."""
    roll = rng.random()
    if roll < DOWN_SHARE:
        victim = service.primary or service.members[0]
        victim.set_down("failed")
        if service.kind == "kafka":
            service.members[1].set_down("failed")
    elif roll < DOWN_SHARE + DEGRADED_SHARE:
        victim = service.members[-1]
        if victim.role == "replica" and rng.random() < 0.5:
            victim.lag_bytes = rng.randrange(LAG_DEGRADED_BYTES * 4, LAG_DEGRADED_BYTES * 128)
        else:
            victim.set_down(rng.choice(("failed", "stopped")))
    if rng.random() < PAUSED_SHARE:
        service.paused = True


def seed_fleet(seed: int = 7, size: int = 240) -> list[SimService]:
    """`size` services sorted by name (never fewer than the anchors), the same for one seed."""
    if size > len(WORDS) * 99 * len(PREFIX):
        raise ValueError(f"cannot generate {size} distinct service names")
    rng = random.Random(seed)
    services: dict[str, SimService] = {}
    for name, kind, plan, region, version, replicas in ANCHORS:
        members = _members(rng, name, kind, region, replicas)
        services[name] = SimService(
            name=name, kind=kind, plan=plan, region=region, version=version, members=members,
            tags={"team": team_of(name)},
        )  # fmt: skip
    kinds = list(KIND_WEIGHTS)
    weights = list(KIND_WEIGHTS.values())
    while len(services) < size:
        kind = rng.choices(kinds, weights)[0]
        name = f"{PREFIX[kind]}-{rng.choice(WORDS)}-{rng.randint(1, 99)}"
        if name in services:
            continue
        service = _service(rng, name, kind, rng.choice(REGIONS))
        _spoil(rng, service)
        services[name] = service
    return [services[name] for name in sorted(services)]
