"""The post-check after an operation: is the cluster whole and does every member say so?

`/cluster` is the DCS's view (a leader, replicas with a known lag); each member's own
`/health` (PostgreSQL is running), `/liveness` (Patroni's loop is alive) and `/readiness`
(it can serve) are that member's view. Both must agree, and every URL of `app.yaml` must
belong to a member the DCS still knows: a node whose member key expired is missing, not
healthy.
"""

from __future__ import annotations

import asyncio

from integrations.fleet.errors import FleetProtocolError, FleetRequestRejected, FleetUnavailable
from integrations.fleet.patroni.rest import PatroniRest, origin
from integrations.fleet.patroni.topology import ClusterAnswer

PROBES = ("/health", "/liveness", "/readiness")


async def _probe(rest: PatroniRest, name: str, url: str) -> list[str]:
    async def one(path: str) -> str | None:
        try:
            status = await rest.get_status(url, path)
        except FleetUnavailable as exc:
            return f"{name}: {path} {exc}"
        return None if status == 200 else f"{name}: {path} answered {status}"

    results = await asyncio.gather(*(one(p) for p in PROBES))
    return [r for r in results if r]


def _topology_problems(answer: ClusterAnswer) -> list[str]:
    problems = []
    leader = answer.leader
    if leader is None:
        problems.append("no leader")
    elif not leader.healthy:
        problems.append(f"leader {leader.name} is {leader.state or 'in no state'}")
    for m in answer.replicas:
        if not m.healthy:
            problems.append(f"replica {m.name} is {m.state or 'in no state'}, lag {m.lag}")
    return problems


async def health_check(rest: PatroniRest, cluster: str) -> tuple[bool, str]:
    try:
        answer = await rest.read_cluster(cluster)
    except (FleetUnavailable, FleetProtocolError, FleetRequestRejected) as exc:
        # A post-check reports what it could not see; only an unknown cluster raises.
        return False, str(exc)
    problems = _topology_problems(answer)
    probed: list[tuple[str, str]] = []
    known = set()
    for m in answer.members:
        url = rest.configured_url(cluster, m.api_url)
        if url is not None:
            probed.append((m.name, url))
            known.add(origin(url))
    problems += [
        f"{url} is the api_url of no member in /cluster"
        for url in rest.urls(cluster)
        if origin(url) not in known
    ]
    try:
        for found in await asyncio.gather(*(_probe(rest, n, u) for n, u in probed)):
            problems += found
    except FleetRequestRejected as exc:
        problems.append(str(exc))
    if problems:
        return False, "; ".join(problems)
    leader = answer.leader
    replicas = ", ".join(f"{m.name} lag {m.lag_bytes} B" for m in answer.replicas) or "none"
    paused = " (paused: Patroni heals nothing until resumed)" if answer.pause else ""
    return True, (
        f"leader {leader.name if leader else '?'}; replicas: {replicas}; "
        f"{', '.join(PROBES)} answer 200 on {len(probed)} members{paused}"
    )
