"""Sentinel's and Redis's answers, read without trusting them.

`SENTINEL MASTER|REPLICAS|SENTINELS` answer flat field/value lists (a map over RESP3);
`INFO replication` answers `key:value` lines. Any of it may be missing, renamed by a
newer server, or nonsense from a proxy in between: a field we rely on that is absent or
not a number is a `FleetProtocolError` naming it, never a crash; fields we do not use are
ignored. Member names are drawn from addresses (`host-port`: the action catalog's
names have no colon, docs/backends.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from integrations.fleet.errors import FleetProtocolError

_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True, order=True)
class Addr:
    host: str
    port: int

    @property
    def name(self) -> str:
        """The member name a user types: `host-port`, other characters as `_`."""
        return f"{_NAME_UNSAFE.sub('_', self.host)}-{self.port}"

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> Addr:
        """`host:port` (a bracketed IPv6 host too); ValueError with the reason."""
        host, sep, port = text.strip().rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{text!r} is not host:port")
        return cls(host, int(port))


def _text(value: object, what: str) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str | int | float):
        return str(value)
    raise FleetProtocolError(f"{what}: expected a string, got {type(value).__name__}")


def fields(reply: object, what: str) -> dict[str, str]:
    """One Sentinel record: a flat [field, value, ...] list (RESP2) or a map (RESP3)."""
    if isinstance(reply, Mapping):
        return {_text(k, what): _text(v, what) for k, v in reply.items()}
    if not isinstance(reply, list | tuple) or len(reply) % 2:
        raise FleetProtocolError(f"{what}: not a list of field/value pairs")
    return {_text(reply[i], what): _text(reply[i + 1], what) for i in range(0, len(reply), 2)}


def records(reply: object, what: str) -> list[dict[str, str]]:
    if not isinstance(reply, list | tuple):
        raise FleetProtocolError(f"{what}: not a list of records")
    return [fields(item, what) for item in reply]


def number(found: Mapping[str, str], key: str, what: str, default: int | None = None) -> int:
    raw = found.get(key)
    if raw is None or raw == "":
        if default is not None:
            return default
        raise FleetProtocolError(f"{what}: no {key}")
    try:
        return int(raw)
    except ValueError:
        raise FleetProtocolError(f"{what}: {key} is not a number") from None


def _addr(found: Mapping[str, str], host_key: str, port_key: str, what: str) -> Addr:
    host = found.get(host_key, "")
    port = number(found, port_key, what)
    if not host or not 0 < port < 65536:
        raise FleetProtocolError(f"{what}: no usable {host_key}/{port_key}")
    return Addr(host, port)


def _flags(found: Mapping[str, str]) -> frozenset[str]:
    return frozenset(f for f in found.get("flags", "").split(",") if f)


# Flags Sentinel sets on an instance it cannot use (sentinel.c, SRI_*).
UNUSABLE_FLAGS = frozenset({"s_down", "o_down", "disconnected"})


@dataclass(frozen=True)
class SentinelMaster:
    name: str
    addr: Addr
    flags: frozenset[str]
    quorum: int
    other_sentinels: int

    @property
    def down(self) -> bool:
        return bool(self.flags & UNUSABLE_FLAGS)

    @property
    def failing_over(self) -> bool:
        return any(f.startswith("failover") for f in self.flags)


def sentinel_master(reply: object) -> SentinelMaster:
    what = "SENTINEL MASTER"
    found = fields(reply, what)
    return SentinelMaster(
        name=found.get("name", ""),
        addr=_addr(found, "ip", "port", what),
        flags=_flags(found),
        quorum=number(found, "quorum", what),
        other_sentinels=number(found, "num-other-sentinels", what, default=0),
    )


@dataclass(frozen=True)
class SentinelReplica:
    addr: Addr
    run_id: str
    flags: frozenset[str]
    link_ok: bool
    master: Addr | None
    priority: int
    offset: int
    link_down_ms: int
    # Milliseconds since Sentinel last read the replica's INFO (huge when it never has).
    info_age_ms: int = 0

    @property
    def usable(self) -> bool:
        return not self.flags & UNUSABLE_FLAGS


def sentinel_replicas(reply: object) -> list[SentinelReplica]:
    what = "SENTINEL REPLICAS"
    out = []
    for found in records(reply, what):
        try:
            master: Addr | None = _addr(found, "master-host", "master-port", what)
        except FleetProtocolError:
            master = None  # "?" until Sentinel has read the replica's INFO
        out.append(
            SentinelReplica(
                addr=_addr(found, "ip", "port", what),
                run_id=found.get("runid", ""),
                flags=_flags(found),
                link_ok=found.get("master-link-status") == "ok",
                master=master,
                priority=number(found, "slave-priority", what, default=100),
                offset=number(found, "slave-repl-offset", what, default=0),
                link_down_ms=number(found, "master-link-down-time", what, default=0),
                info_age_ms=number(found, "info-refresh", what, default=0),
            )
        )
    return out


@dataclass(frozen=True)
class SentinelPeer:
    addr: Addr
    run_id: str
    flags: frozenset[str]

    @property
    def up(self) -> bool:
        return not self.flags & UNUSABLE_FLAGS


def sentinel_peers(reply: object) -> list[SentinelPeer]:
    what = "SENTINEL SENTINELS"
    return [
        SentinelPeer(_addr(f, "ip", "port", what), f.get("runid", ""), _flags(f))
        for f in records(reply, what)
    ]


def master_addr(reply: object) -> Addr | None:
    """`SENTINEL GET-MASTER-ADDR-BY-NAME`: [ip, port], or nil for a name it does not know."""
    if reply is None:
        return None
    if not isinstance(reply, list | tuple) or len(reply) != 2:
        raise FleetProtocolError("GET-MASTER-ADDR-BY-NAME: not an [ip, port] pair")
    host, port = (_text(x, "GET-MASTER-ADDR-BY-NAME") for x in reply)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise FleetProtocolError("GET-MASTER-ADDR-BY-NAME: not an [ip, port] pair")
    return Addr(host, int(port))


def info(text: object) -> dict[str, str]:
    """`INFO` as a dict: `key:value` lines; section headers, blanks and odd lines skipped."""
    body = _text(text, "INFO")
    out: dict[str, str] = {}
    for line in body.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep and key and not key.startswith("#"):
            out[key] = value
    return out


@dataclass(frozen=True)
class NodeReplication:
    """A node's own `INFO replication`."""

    role: Literal["master", "replica"]
    offset: int
    # A replica's: where it replicates from, whether the link is up, a sync running.
    master: Addr | None = None
    link_up: bool = False
    syncing: bool = False
    priority: int | None = None
    connected_replicas: int = 0


def node_replication(text: object) -> NodeReplication:
    what = "INFO replication"
    found = info(text)
    role = found.get("role")
    if role == "master":
        return NodeReplication(
            role="master",
            offset=number(found, "master_repl_offset", what),
            connected_replicas=number(found, "connected_slaves", what, default=0),
        )
    if role == "slave":
        try:
            master: Addr | None = _addr(found, "master_host", "master_port", what)
        except FleetProtocolError:
            master = None
        return NodeReplication(
            role="replica",
            offset=number(found, "slave_repl_offset", what, default=0),
            master=master,
            link_up=found.get("master_link_status") == "up",
            syncing=found.get("master_sync_in_progress", "0") != "0",
            priority=number(found, "slave_priority", what, default=100),
        )
    raise FleetProtocolError(f"{what}: role is {role!r}, neither master nor slave")


def sync_count(text: object) -> int:
    """`INFO stats`: how many replica syncs (full and partial) the node has served."""
    found = info(text)
    what = "INFO stats"
    return number(found, "sync_full", what) + number(found, "sync_partial_ok", what, default=0)
