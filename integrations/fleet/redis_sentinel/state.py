"""One monitored master as Sentinel and the nodes themselves describe it, and what
Watchkeeper reads from that: members, health (docs/fleet-api.yaml), notes, and the
replica Sentinel would promote.

Two views are kept apart on purpose. Sentinel's (`SENTINEL MASTER|REPLICAS|SENTINELS`,
`CKQUORUM`, and each configured Sentinel's `GET-MASTER-ADDR-BY-NAME`) says who should be
master and who agrees. Each node's own `INFO replication` says what it is doing: its
role, where it replicates from, its link, its offset. A replica is healthy only when
both agree; the lag in bytes is the master's offset minus the replica's, both read now.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from integrations.fleet.models import Health, Member, MemberState, Note, Service
from integrations.fleet.redis_sentinel.parse import (
    Addr,
    NodeReplication,
    SentinelMaster,
    SentinelPeer,
    SentinelReplica,
)

# docs/fleet-api.yaml: degraded when a replica lags more than 16 MiB.
LAG_LIMIT_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Node:
    """A data node's own answer, or why there is none."""

    addr: Addr
    replication: NodeReplication | None = None
    error: str | None = None


@dataclass(frozen=True)
class Vote:
    """One configured Sentinel's answer to GET-MASTER-ADDR-BY-NAME, or why there is none."""

    sentinel: Addr
    master: Addr | None = None
    error: str | None = None


@dataclass(frozen=True)
class MasterState:
    name: str
    source: Addr  # the Sentinel whose MASTER/REPLICAS/SENTINELS this is
    master: SentinelMaster
    replicas: list[SentinelReplica]
    peers: list[SentinelPeer]
    quorum_ok: bool
    quorum_text: str
    votes: list[Vote]
    nodes: dict[Addr, Node] = field(default_factory=dict)

    # -- the master ------------------------------------------------------------------

    @property
    def master_node(self) -> NodeReplication | None:
        node = self.nodes.get(self.master.addr)
        return node.replication if node else None

    @property
    def master_ok(self) -> bool:
        own = self.master_node
        return not self.master.down and own is not None and own.role == "master"

    # -- replicas ---------------------------------------------------------------------

    def replica(self, name: str) -> SentinelReplica | None:
        return next((r for r in self.replicas if r.addr.name == name), None)

    def lag(self, replica: Addr) -> int | None:
        own, master = self.nodes.get(replica), self.master_node
        if own is None or own.replication is None or master is None:
            return None
        return max(0, master.offset - own.replication.offset)

    def replica_problem(self, replica: SentinelReplica) -> str | None:
        """Why this replica is not a healthy copy of the master, or None."""
        node = self.nodes.get(replica.addr)
        if node is None or node.replication is None:
            return f"{replica.addr.name} does not answer ({node.error if node else 'not read'})"
        own = node.replication
        if own.role != "replica":
            return f"{replica.addr.name} says it is a master"
        if own.master != self.master.addr:
            return f"{replica.addr.name} replicates from {own.master or 'nowhere'}"
        if own.syncing:
            return f"{replica.addr.name} is syncing"
        if not own.link_up:
            return f"{replica.addr.name}'s link to the master is down"
        if not replica.usable:
            return f"Sentinel flags {replica.addr.name} {','.join(sorted(replica.flags))}"
        return None

    # -- Sentinel ---------------------------------------------------------------------

    @property
    def agreed(self) -> bool:
        return all(v.master == self.master.addr for v in self.votes)

    @property
    def known_sentinels(self) -> int:
        return 1 + len(self.peers)

    def promotion_order(self) -> list[SentinelReplica]:
        """The replicas Sentinel may promote, in the order it ranks them.

        As sentinel.c's `sentinelSelectSlave` does: not down or disconnected, a
        replica-priority above 0; then lowest priority, highest offset, smallest run id.
        Sentinel also skips a replica whose INFO it has not read for 30 s or whose link has
        been down too long, but it reads every replica each second once a failover starts,
        so those may well be eligible by then: they stay in. The offsets move between
        reads, so only the priority order is a prediction (docs/backends.md).
        """
        pool = [r for r in self.replicas if r.usable and r.priority > 0]
        return sorted(pool, key=lambda r: (r.priority, -r.offset, r.run_id.lower() or "~"))

    # -- the fleet's view -------------------------------------------------------------

    def problems(self) -> list[str]:
        out = []
        if not self.master_ok:
            own = self.master_node
            why = (
                ",".join(sorted(self.master.flags))
                if self.master.down
                else "no answer"
                if own is None
                else f"role {own.role}"
            )
            out.append(f"master {self.master.addr.name} is not serving ({why})")
        out += [p for r in self.replicas if (p := self.replica_problem(r))]
        for r in self.replicas:
            lag = self.lag(r.addr)
            if lag is not None and lag > LAG_LIMIT_BYTES:
                out.append(f"{r.addr.name} lags {lag} bytes")
        if not self.quorum_ok:
            out.append(f"quorum: {self.quorum_text}")
        out += [
            f"Sentinel {v.sentinel} " + (v.error or f"names {v.master or 'no master'}")
            for v in self.votes
            if v.master != self.master.addr
        ]
        if self.master.failing_over:
            out.append("a failover is in progress")
        return out

    @property
    def health(self) -> Health:
        if not self.master_ok:
            return "down"
        return "degraded" if self.problems() else "healthy"

    def members(self) -> list[Member]:
        master = Member(
            name=self.master.addr.name,
            role="primary",
            state="running" if self.master_ok else ("stopped" if self.master_node else "failed"),
            healthy=self.master_ok,
            host=str(self.master.addr),
        )
        out = [master]
        for r in sorted(self.replicas, key=lambda r: r.addr):
            problem = self.replica_problem(r)
            node = self.nodes.get(r.addr)
            state: MemberState = "running"
            if node is None or node.replication is None:
                state = "failed"
            elif node.replication.syncing:
                state = "rebuilding"
            elif problem:
                state = "starting" if node.replication.master == self.master.addr else "failed"
            out.append(
                Member(
                    name=r.addr.name,
                    role="replica",
                    state=state,
                    healthy=problem is None,
                    lag_bytes=self.lag(r.addr),
                    host=str(r.addr),
                )
            )
        return out

    def notes(self) -> list[tuple[str, str]]:
        """What the status card shows beyond members: links, quorum, Sentinels."""
        links = []
        for r in sorted(self.replicas, key=lambda r: r.addr):
            node = self.nodes.get(r.addr)
            own = node.replication if node else None
            if own is None:
                links.append(f"{r.addr.name}: no answer")
            else:
                link = "up" if own.link_up else "down"
                links.append(
                    f"{r.addr.name}: link {link}, offset {own.offset}, priority {own.priority}"
                )
        agree = sum(1 for v in self.votes if v.master == self.master.addr)
        return [
            ("Replica links", "; ".join(links) or "no replicas"),
            ("Quorum", f"{self.master.quorum} of {self.known_sentinels}: {self.quorum_text}"),
            (
                "Sentinels",
                f"{self.known_sentinels} known ("
                + ", ".join([str(self.source), *(str(p.addr) for p in self.peers)])
                + f"); {agree} of {len(self.votes)} configured name {self.master.addr}",
            ),
        ]

    def describe(self) -> str:
        """One line for messages and step errors."""
        return f"master {self.master.addr.name}; " + ("; ".join(self.problems()) or "all well")

    def to_service(self, *, region: str) -> Service:
        return Service(
            name=self.name,
            kind="redis",
            plan="sentinel",
            region=region,
            health=self.health,
            members=self.members(),
            notes=[Note(label=k, value=v[:1000]) for k, v in self.notes()],
        )
