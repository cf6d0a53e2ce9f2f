"""Where the simulator keeps its services, and how it lists them filtered and paged.

Two catalogs answer the same questions:

- `SeededCatalog`: every service an object, sorted by name (`seed_fleet`, the demo's and
  the tests' few hundred services);
- `GeneratedCatalog`: a fleet of up to millions in which service `i` is a pure function
  of (seed, i) until something changes it. Only a touched service (read one by one,
  acted on, degraded) becomes an object, kept in `overrides`; the others are one 16-bit
  profile code each (engine, region, plan, version, health, team), so a filtered listing
  is one streamed pass over the codes, not a million objects (docs/fleet-api.yaml,
  `GET /v1/services`).

Both list in a stable order (by name; by index for the generated one) and page with the
cursor of `integrations.fleet.paging`: each match exactly once.
"""

from __future__ import annotations

import itertools
import json
from array import array
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, Protocol

from integrations.fleet.models import Health, ServiceKind
from integrations.fleet.paging import InvalidCursor, decode_cursor, encode_cursor, page_of
from integrations.fleet.selector import Selector, Term
from standins.fleet.simulator.seed import (
    ANCHORS,
    KAFKA_PLANS,
    PREFIX,
    REDIS_PLANS,
    REGIONS,
    TEAMS,
    WORDS,
    team_of,
)
from standins.fleet.simulator.state import LAG_DEGRADED_BYTES, SimMember, SimService, host_for

# One service of a listing, already encoded as the JSON object the API answers with.
Wire = str


class Catalog(Protocol):
    def get(self, name: str) -> SimService | None:
        """The service, as an object that actions may change; None when unknown."""

    def names(self) -> list[str]: ...

    def page(
        self, selector: Selector | None, cursor: str | None, limit: int
    ) -> tuple[list[Wire], str | None]:
        """The matches after `cursor`, each encoded as JSON, and the next cursor (None at
        the end)."""


class SeededCatalog:
    def __init__(self, services: Iterable[SimService]) -> None:
        self._services = {s.name: s for s in services}
        self._names = sorted(self._services)

    def get(self, name: str) -> SimService | None:
        return self._services.get(name)

    def names(self) -> list[str]:
        return list(self._names)

    def page(
        self, selector: Selector | None, cursor: str | None, limit: int
    ) -> tuple[list[Wire], str | None]:
        summaries = (self._services[n].summary() for n in self._names)
        found = page_of(summaries, selector, cursor, limit)
        return [s.model_dump_json() for s in found.items], found.next_cursor


class Profile(NamedTuple):
    kind: ServiceKind
    region: str
    plan: str
    version: str
    health: Health
    team: str


GEN_PLANS: dict[ServiceKind, tuple[str, ...]] = {
    "postgres": ("hobby", "startup-4", "business-8", "premium-16"),
    "redis": REDIS_PLANS,
    "kafka": KAFKA_PLANS,
}
GEN_VERSIONS: dict[ServiceKind, tuple[str, ...]] = {
    "postgres": ("15.8", "16.4", "16.10", "17.2"),
    "redis": ("7.2.5", "7.4.1"),
    "kafka": ("3.7.1", "3.8.0"),
}
HEALTHS: tuple[Health, ...] = ("healthy", "degraded", "down")
# Out of 100: postgres, redis, kafka; out of 100: down, degraded.
KIND_CUTS: tuple[tuple[int, ServiceKind], ...] = ((55, "postgres"), (80, "redis"), (100, "kafka"))
DOWN_PERCENT, DEGRADED_PERCENT = 1, 4
# The code of a service that lives in `overrides`: always a candidate, judged whole.
TOUCHED = 0xFFFF
MASK64 = (1 << 64) - 1
SELECTOR_CACHE = 32


def _mix(seed: int, index: int) -> int:
    """splitmix64 of (seed, index): the service's dice, the same on every run."""
    x = (seed * 0x9E3779B97F4A7C15 + (index + 1) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def _profiles() -> list[Profile]:
    kinds: tuple[ServiceKind, ...] = ("postgres", "redis", "kafka")
    return [
        Profile(kind, region, plan, version, health, team)
        for kind in kinds
        for region in REGIONS
        for plan in GEN_PLANS[kind]
        for version in GEN_VERSIONS[kind]
        for health in HEALTHS
        for team in TEAMS
    ]


class GeneratedCatalog:
    def __init__(self, seed: int, size: int) -> None:
        if size < len(ANCHORS):
            raise ValueError(f"a generated fleet has at least {len(ANCHORS)} services")
        self.seed = seed
        self.size = size
        self.profiles = _profiles()
        assert len(self.profiles) < TOUCHED
        code_of = {p: i for i, p in enumerate(self.profiles)}
        self._anchors = {a[0]: i for i, a in enumerate(ANCHORS)}
        codes = array("H")
        # The word of each generated name, so listing a name costs no second draw.
        words = bytearray(len(ANCHORS))
        for name, kind, plan, region, version, _replicas in ANCHORS:
            codes.append(code_of[Profile(kind, region, plan, version, "healthy", team_of(name))])
        for i in range(len(ANCHORS), size):
            profile, x = self._draw(i)
            codes.append(code_of[profile])
            words.append(x % len(WORDS))
        self._codes = codes
        self._words = words
        # Everything but the name of a profile's services, encoded once.
        self._tails = [
            json.dumps({"kind": p.kind, "region": p.region, "health": p.health, "plan": p.plan,
                        "version": p.version, "tags": {"team": p.team}},
                       separators=(",", ":"))[1:]
            for p in self.profiles
        ]  # fmt: skip
        self.overrides: dict[int, SimService] = {}
        self._masks: dict[str, bytearray] = {}

    # -- one service -------------------------------------------------------------------

    def _draw(self, index: int) -> tuple[Profile, int]:
        """The profile of generated service `index`, and the dice left for its details."""
        x = _mix(self.seed, index)
        roll, x = x % 100, x // 100
        kind: ServiceKind = next(k for cut, k in KIND_CUTS if roll < cut)
        region, x = REGIONS[x % len(REGIONS)], x // len(REGIONS)
        plans, versions = GEN_PLANS[kind], GEN_VERSIONS[kind]
        plan, x = plans[x % len(plans)], x // len(plans)
        version, x = versions[x % len(versions)], x // len(versions)
        roll, x = x % 100, x // 100
        health: Health = (
            "down" if roll < DOWN_PERCENT else "degraded" if roll < DOWN_PERCENT + DEGRADED_PERCENT
            else "healthy"
        )  # fmt: skip
        team, x = TEAMS[x % len(TEAMS)], x // len(TEAMS)
        return Profile(kind, region, plan, version, health, team), x

    def name_of(self, index: int) -> str:
        if index < len(ANCHORS):
            return ANCHORS[index][0]
        code = self._codes[index]
        kind = self.overrides[index].kind if code == TOUCHED else self.profiles[code].kind
        return f"{PREFIX[kind]}-{WORDS[self._words[index]]}-{index}"

    def index_of(self, name: str) -> int | None:
        if name in self._anchors:
            return self._anchors[name]
        _, _, digits = name.rpartition("-")
        if not digits.isascii() or not digits.isdecimal() or len(digits) > 9:
            return None
        index = int(digits)
        if not len(ANCHORS) <= index < self.size or self.name_of(index) != name:
            return None
        return index

    def _profile(self, index: int) -> Profile:
        return self.profiles[self._codes[index]]

    def _materialise(self, index: int) -> SimService:
        name = self.name_of(index)
        p = self._profile(index)
        x = _mix(self.seed ^ 0x5EED, index)

        def member(i: int, role: Any) -> SimMember:
            lag = None if role != "replica" else x % (64 * 1024)
            return SimMember(f"{name}-{i}", role, host_for(f"{name}-{i}", p.region), lag_bytes=lag)

        if p.kind == "kafka":
            members = [member(i, "broker") for i in (1, 2, 3)]
            if p.health != "healthy":
                members[0].set_down("failed")
            if p.health == "down":
                members[1].set_down("failed")
        else:
            replicas = 1 if p.kind == "redis" or p.plan in ("hobby", "startup-4") else 2
            members = [member(1, "primary")]
            members += [member(i, "replica") for i in range(2, replicas + 2)]
            if p.health == "down":
                members[0].set_down("failed")
            elif p.health == "degraded":
                members[-1].lag_bytes = LAG_DEGRADED_BYTES * 4
        service = SimService(
            name=name, kind=p.kind, plan=p.plan, region=p.region, version=p.version,
            members=members, tags={"team": p.team},
        )  # fmt: skip
        assert service.health == p.health
        return service

    def get(self, name: str) -> SimService | None:
        index = self.index_of(name)
        if index is None:
            return None
        if index not in self.overrides:
            # Touched: from now on it is an object that actions change, judged whole.
            self.overrides[index] = self._materialise(index)
            self._codes[index] = TOUCHED
        return self.overrides[index]

    def names(self) -> list[str]:
        return [self.name_of(i) for i in range(self.size)]

    def _wire(self, index: int) -> Wire:
        # A generated name is letters, digits and dashes: nothing in it needs escaping.
        return f'{{"name":"{self.name_of(index)}",{self._tails[self._codes[index]]}'

    # -- the filtered pass -------------------------------------------------------------

    def _mask(self, selector: Selector | None, terms: Sequence[Term]) -> bytearray:
        """mask[code] = 1 when a service of that profile can match `terms` (TOUCHED always:
        its own fields decide)."""
        key = str(selector)
        mask = self._masks.get(key)
        if mask is None:
            mask = bytearray(TOUCHED + 1)
            for code, p in enumerate(self.profiles):
                fields = {"engine": p.kind, "region": p.region, "plan": p.plan,
                          "version": p.version, "health": p.health, "tag:team": p.team}  # fmt: skip
                mask[code] = all(t.holds(fields.get(t.field)) for t in terms)
            mask[TOUCHED] = 1
            if len(self._masks) >= SELECTOR_CACHE:
                self._masks.pop(next(iter(self._masks)))
            self._masks[key] = mask
        return mask

    def page(
        self, selector: Selector | None, cursor: str | None, limit: int
    ) -> tuple[list[Wire], str | None]:
        start = 0
        if cursor:
            after = self.index_of(decode_cursor(cursor))
            if after is None:
                raise InvalidCursor("cursor is not one this API issued")
            start = after + 1
        terms = selector.fleet_terms if selector else ()
        by_profile = [t for t in terms if t.field != "name"]
        by_name = [t for t in terms if t.field == "name"]
        mask = self._mask(selector, by_profile)
        candidates = itertools.compress(
            range(start, self.size), map(mask.__getitem__, memoryview(self._codes)[start:])
        )
        found: list[Wire] = []
        last = -1
        for index in candidates:
            touched = self.overrides.get(index)
            if touched is not None:
                summary = touched.summary()
                if selector is not None and not selector.matches(summary):
                    continue
                item = summary.model_dump_json()
            else:
                if by_name and not all(t.holds(self.name_of(index)) for t in by_name):
                    continue
                item = self._wire(index)
            if len(found) == limit:
                return found, encode_cursor(self.name_of(last))
            found.append(item)
            last = index
        return found, None
