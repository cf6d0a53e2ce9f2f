"""Reading one master's state: the first configured Sentinel that answers gives its view,
every configured Sentinel is asked who the master is, and every node its own INFO.

No Sentinel answering is `FleetUnavailable` (the state is unknown, never healthy); a
Sentinel that does not monitor the name is `ServiceNotFound`. A node that does not answer
is a finding of the state, not an error of the read.
"""

from __future__ import annotations

import asyncio

from integrations.fleet.errors import (
    FleetError,
    FleetRequestRejected,
    FleetUnavailable,
    ServiceNotFound,
)
from integrations.fleet.redis_sentinel.parse import (
    Addr,
    master_addr,
    node_replication,
    records,
    sentinel_master,
    sentinel_peers,
    sentinel_replicas,
)
from integrations.fleet.redis_sentinel.state import MasterState, Node, Vote
from integrations.fleet.redis_sentinel.wire import Wire


def _no_such_master(exc: FleetRequestRejected) -> bool:
    return exc.code == "refused" and "no such master" in exc.reason.lower()


async def _vote(wire: Wire, sentinel: Addr, name: str) -> Vote:
    try:
        answer = await wire.sentinel(sentinel, "GET-MASTER-ADDR-BY-NAME", name)
        return Vote(sentinel, master_addr(answer))
    except FleetError as exc:
        return Vote(sentinel, error=str(exc))


async def read_node(wire: Wire, at: Addr) -> Node:
    try:
        return Node(at, node_replication(await wire.node(at, "INFO", "replication")))
    except FleetRequestRejected:
        raise  # the ACL or password is wrong: a configuration fault, said as such
    except FleetError as exc:
        return Node(at, error=str(exc))


async def _quorum(wire: Wire, at: Addr, name: str) -> tuple[bool, str]:
    try:
        answer = await wire.sentinel(at, "CKQUORUM", name)
    except FleetRequestRejected as exc:
        if exc.code == "forbidden":
            raise
        # NOQUORUM ...: the reason is the answer.
        return False, exc.reason.split(": ", 1)[-1]
    return True, str(answer)


async def read_state(wire: Wire, name: str) -> MasterState:
    unreachable: list[str] = []
    for at in wire.sentinels:
        try:
            master = sentinel_master(await wire.sentinel(at, "MASTER", name))
        except FleetRequestRejected as exc:
            if _no_such_master(exc):
                raise ServiceNotFound(name) from None
            raise
        except FleetUnavailable as exc:
            unreachable.append(str(exc))
            continue
        replicas_reply, peers_reply, quorum, votes = await asyncio.gather(
            wire.sentinel(at, "REPLICAS", name),
            wire.sentinel(at, "SENTINELS", name),
            _quorum(wire, at, name),
            asyncio.gather(*(_vote(wire, s, name) for s in wire.sentinels)),
        )
        replicas = sentinel_replicas(replicas_reply)
        addrs = [master.addr, *(r.addr for r in replicas)]
        nodes = await asyncio.gather(*(read_node(wire, a) for a in addrs))
        return MasterState(
            name=name,
            source=at,
            master=master,
            replicas=replicas,
            peers=sentinel_peers(peers_reply),
            quorum_ok=quorum[0],
            quorum_text=quorum[1],
            votes=list(votes),
            nodes={n.addr: n for n in nodes},
        )
    raise FleetUnavailable(
        f"no Sentinel of {name} answers, its state is unknown: " + "; ".join(unreachable)
    )


async def monitored(wire: Wire) -> list[str]:
    """The master names the first answering Sentinel monitors (`SENTINEL MASTERS`)."""
    unreachable: list[str] = []
    for at in wire.sentinels:
        try:
            reply = await wire.sentinel(at, "MASTERS")
        except FleetUnavailable as exc:
            unreachable.append(str(exc))
            continue
        return sorted(r["name"] for r in records(reply, "SENTINEL MASTERS") if r.get("name"))
    raise FleetUnavailable("no Sentinel answers: " + "; ".join(unreachable))
