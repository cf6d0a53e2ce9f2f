"""The Sentinel backend at its seams, without servers: odd `INFO` and `SENTINEL` answers
are read or refused with the field named (never a crash), the health rules of
docs/fleet-api.yaml, the plans and their refusals, the settings, and the status card's
facts escaped. The same code against real servers: tests/test_fleet_redis_sentinel.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.block_kit import status_card
from bot.fleet.config import FleetConfig
from integrations.fleet.errors import FleetProtocolError, FleetRequestRejected
from integrations.fleet.redis_sentinel.backend import Settings
from integrations.fleet.redis_sentinel.parse import (
    Addr,
    fields,
    master_addr,
    node_replication,
    sentinel_master,
    sentinel_replicas,
    sync_count,
)
from integrations.fleet.redis_sentinel.plans import Timeouts, blueprint, resumed_draft
from integrations.fleet.redis_sentinel.state import LAG_LIMIT_BYTES, MasterState, Node, Vote

FIXTURES = Path(__file__).parent / "fixtures" / "redis"
MASTER = Addr("10.0.0.5", 6379)
R1, R2 = Addr("10.0.0.6", 6379), Addr("10.0.0.7", 6379)
S1, S2, S3 = (Addr("10.0.1.1", 26379), Addr("10.0.1.2", 26379), Addr("10.0.1.3", 26379))


# -- parsing ----------------------------------------------------------------------------


def test_a_replicas_info_is_read_with_its_link_sync_and_priority() -> None:
    own = node_replication((FIXTURES / "info_replication_replica.txt").read_text())
    assert (own.role, own.master, own.link_up, own.syncing) == ("replica", MASTER, False, True)
    assert (own.offset, own.priority) == (1200, 0)


def test_a_masters_info_with_crlf_lines_and_bytes() -> None:
    own = node_replication((FIXTURES / "info_replication_master.txt").read_bytes())
    assert (own.role, own.offset, own.connected_replicas) == ("master", 9000, 2)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("# Replication\r\nconnected_slaves:0\r\n", "role"),
        ("role:sentinel\n", "role"),
        ("role:master\nmaster_repl_offset:lots\n", "master_repl_offset"),
        ("role:master\n", "master_repl_offset"),
        ("role:slave\nslave_repl_offset:-x\n", "slave_repl_offset"),
    ],
)
def test_odd_info_answers_are_protocol_errors_naming_the_field(text: str, named: str) -> None:
    with pytest.raises(FleetProtocolError, match=named):
        node_replication(text)


def test_info_that_is_not_text_is_refused() -> None:
    with pytest.raises(FleetProtocolError):
        node_replication(["role", "master"])


def test_a_replica_that_has_not_reported_its_master_has_none() -> None:
    own = node_replication("role:slave\nmaster_host:\nmaster_port:0\nmaster_link_status:up\n")
    assert own.master is None and own.link_up


def test_sync_count_adds_full_and_partial_syncs() -> None:
    assert sync_count("sync_full:2\r\nsync_partial_ok:3\r\nsync_partial_err:9\r\n") == 5
    with pytest.raises(FleetProtocolError, match="sync_full"):
        sync_count("sync_partial_ok:3\n")


def test_sentinel_records_as_flat_lists_or_maps() -> None:
    assert fields(["a", "1", "b", 2], "x") == {"a": "1", "b": "2"}
    assert fields({b"a": b"1"}, "x") == {"a": "1"}
    with pytest.raises(FleetProtocolError, match="pairs"):
        fields(["a", "1", "b"], "x")
    with pytest.raises(FleetProtocolError, match="expected a string"):
        fields(["a", ["nested"]], "x")
    with pytest.raises(FleetProtocolError):
        fields("OK", "x")


def _master_reply(drop: str = "", **over: str) -> list[str]:
    base = {
        "name": "redis-cache",
        "ip": MASTER.host,
        "port": str(MASTER.port),
        "flags": "master",
        "quorum": "2",
        "num-other-sentinels": "2",
    }
    base.update(over)
    return [x for k, v in base.items() if k != drop for x in (k, v)]


def test_sentinel_master_flags_and_missing_fields() -> None:
    found = sentinel_master(_master_reply(flags="master,s_down,o_down"))
    assert found.down and not found.failing_over and found.quorum == 2
    assert sentinel_master(_master_reply(flags="master,failover_in_progress")).failing_over
    with pytest.raises(FleetProtocolError, match="port"):
        sentinel_master(_master_reply(port="none"))
    with pytest.raises(FleetProtocolError, match="quorum"):
        sentinel_master(_master_reply(drop="quorum"))


def _replica_reply(addr: Addr, **over: str) -> list[str]:
    base = {
        "name": str(addr),
        "ip": addr.host,
        "port": str(addr.port),
        "runid": f"run-{addr.host}",
        "flags": "slave",
        "master-link-status": "ok",
        "master-host": MASTER.host,
        "master-port": str(MASTER.port),
        "slave-priority": "100",
        "slave-repl-offset": "5000",
    }
    base.update(over)
    return [x for kv in base.items() for x in kv]


def test_sentinel_replicas_with_an_unknown_master_and_no_priority() -> None:
    reply = _replica_reply(R1, **{"master-host": "?", "master-port": "0"})
    reply = reply[: reply.index("slave-priority")] + reply[reply.index("slave-priority") + 2 :]
    (found,) = sentinel_replicas([reply])
    assert found.master is None and found.priority == 100 and found.link_ok
    with pytest.raises(FleetProtocolError):
        sentinel_replicas("not a list")


def test_get_master_addr_answers() -> None:
    assert master_addr(None) is None
    assert master_addr(["10.0.0.5", "6379"]) == MASTER
    for odd in (["10.0.0.5"], ["10.0.0.5", "port"], ["", "6379"], "10.0.0.5:6379"):
        with pytest.raises(FleetProtocolError):
            master_addr(odd)


def test_addresses_and_member_names() -> None:
    assert Addr.parse("[::1]:26379") == Addr("::1", 26379)
    assert Addr("::1", 6379).name == "__1-6379"
    assert Addr("redis-a.internal", 6379).name == "redis-a.internal-6379"
    for bad in ("host", "host:0", "host:99999", ":6379"):
        with pytest.raises(ValueError, match="host:port"):
            Addr.parse(bad)


# -- state and health ---------------------------------------------------------------------


def state(
    *,
    master_flags: str = "master",
    r1: dict[str, str] | None = None,
    r1_info: str | None = None,
    master_offset: int = 5000,
    votes: tuple[Addr | None, ...] = (MASTER, MASTER, MASTER),
    quorum: bool = True,
) -> MasterState:
    replica_info = "role:slave\nmaster_host:10.0.0.5\nmaster_port:6379\nmaster_link_status:up\n"
    return MasterState(
        name="redis-cache",
        source=S1,
        master=sentinel_master(_master_reply(flags=master_flags)),
        replicas=sentinel_replicas(
            [_replica_reply(R1, **(r1 or {})), _replica_reply(R2, runid="aaa")]
        ),
        peers=[],
        quorum_ok=quorum,
        quorum_text="OK 3 usable Sentinels" if quorum else "NOQUORUM 1 usable Sentinels",
        votes=[Vote(s, v) for s, v in zip((S1, S2, S3), votes, strict=True)],
        nodes={
            MASTER: Node(
                MASTER, node_replication(f"role:master\nmaster_repl_offset:{master_offset}\n")
            ),
            R1: Node(R1, node_replication(r1_info or replica_info + "slave_repl_offset:5000\n")),
            R2: Node(R2, node_replication(replica_info + "slave_repl_offset:4000\n")),
        },
    )


def test_a_whole_set_is_healthy_with_lag_in_bytes() -> None:
    s = state()
    service = s.to_service(region="eu")
    assert (
        service.health == "healthy" and service.primary and service.primary.name == "10.0.0.5-6379"
    )
    lags = {m.name: m.lag_bytes for m in service.members if m.role == "replica"}
    assert lags == {"10.0.0.6-6379": 0, "10.0.0.7-6379": 1000}
    labels = [f.label for f in service.notes]
    assert labels == ["Replica links", "Quorum", "Sentinels"]


@pytest.mark.parametrize(
    ("change", "finding"),
    [
        ({"master_offset": 5000 + LAG_LIMIT_BYTES + 2000}, "lags"),
        ({"votes": (MASTER, R1, MASTER)}, "names 10.0.0.6:6379"),
        ({"votes": (MASTER, MASTER, None)}, "names no master"),
        ({"quorum": False}, "NOQUORUM"),
        ({"master_flags": "master,failover_in_progress"}, "failover is in progress"),
        ({"r1_info": "role:slave\nmaster_host:10.9.9.9\nmaster_port:6379\n"}, "replicates from"),
        ({"r1_info": "role:slave\nmaster_host:10.0.0.5\nmaster_port:6379\n"}, "link"),
        ({"r1": {"flags": "slave,s_down"}}, "s_down"),
    ],
)
def test_what_makes_a_set_degraded(change: dict[str, Any], finding: str) -> None:
    s = state(**change)
    assert s.health == "degraded"
    assert any(finding in p for p in s.problems()), s.problems()


def test_a_master_sentinel_sees_down_makes_the_set_down() -> None:
    s = state(master_flags="master,s_down,o_down")
    assert s.health == "down" and "not serving" in s.describe()


def test_a_replica_that_does_not_answer_is_failed() -> None:
    s = state()
    nodes = {**s.nodes, R1: Node(R1, error="Redis 10.0.0.6:6379: cannot connect")}
    s = replace(s, nodes=nodes)
    member = next(m for m in s.members() if m.name == R1.name)
    assert (member.state, member.healthy, member.lag_bytes) == ("failed", False, None)


# -- plans ------------------------------------------------------------------------------


def test_sentinel_cannot_be_told_whom_to_promote_among_equals() -> None:
    plan, draft = blueprint(state(), "switchover", {}, Timeouts())
    assert plan.allowed and draft.predicted is None and set(draft.pool) == {R1, R2}
    assert [c.member for c in plan.changes] == [MASTER.name]  # only the certain change
    assert any("cannot predict" in w for w in plan.warnings)
    refused, _ = blueprint(state(), "switchover", {"candidate": R1.name}, Timeouts())
    assert not refused.allowed and "replica-priority" in (refused.reason or "")


def test_a_lower_replica_priority_is_a_prediction_and_a_candidate() -> None:
    s = state(r1={"slave-priority": "10"})
    plan, draft = blueprint(s, "switchover", {"candidate": R1.name}, Timeouts())
    assert plan.allowed and draft.predicted == R1
    assert [(c.member, c.after) for c in plan.changes] == [
        (R1.name, "primary"),
        (MASTER.name, "replica"),
    ]
    other, _ = blueprint(s, "switchover", {"candidate": R2.name}, Timeouts())
    assert not other.allowed and "lowest replica-priority" in (other.reason or "")


def test_promotion_refusals() -> None:
    down = state(master_flags="master,s_down")
    switchover, _ = blueprint(down, "switchover", {}, Timeouts())
    assert not switchover.allowed and "use failover" in (switchover.reason or "")
    failover, _ = blueprint(down, "failover", {}, Timeouts())
    assert failover.allowed and failover.risk == "high"
    busy, _ = blueprint(
        state(master_flags="master,failover_in_progress"), "failover", {}, Timeouts()
    )
    assert not busy.allowed and "already in progress" in (busy.reason or "")
    # replica-priority 0: never promoted, and the other one is down.
    none = state(r1={"slave-priority": "0"})
    none = replace(none, replicas=none.replicas[:1])
    nobody, _ = blueprint(none, "switchover", {}, Timeouts())
    assert not nobody.allowed and "no replica" in (nobody.reason or "")


@pytest.mark.parametrize(
    "action", ["restart", "replace", "maintenance", "pause", "resume", "rotate-credentials"]
)
def test_what_sentinel_cannot_do_is_refused_with_a_reason(action: Any) -> None:
    plan, draft = blueprint(state(), action, {}, Timeouts())
    assert not plan.allowed and plan.reason and not plan.steps and not draft.steps


def test_resync_re_points_or_reconnects() -> None:
    elsewhere = state(
        r1_info="role:slave\nmaster_host:10.9.9.9\nmaster_port:6379\nmaster_link_status:up\n"
    )
    plan, draft = blueprint(elsewhere, "reinit", {"member": R1.name}, Timeouts())
    assert plan.allowed and [s.do for s in draft.steps] == ["replicaof", "wait_linked"]
    plan, draft = blueprint(state(), "reinit", {"member": R1.name}, Timeouts())
    assert plan.allowed and [s.do for s in draft.steps] == ["kill_link", "wait_linked"]
    assert any("REPLICAOF would change nothing" in w for w in plan.warnings)
    master, _ = blueprint(state(), "reinit", {"member": MASTER.name}, Timeouts())
    assert not master.allowed and "is the master" in (master.reason or "")
    unknown, _ = blueprint(state(), "reinit", {"member": "10.0.0.99-6379"}, Timeouts())
    assert not unknown.allowed and "10.0.0.6-6379" in (unknown.reason or "")


# -- settings and the card --------------------------------------------------------------


def test_settings_refuse_what_cannot_work(monkeypatch: pytest.MonkeyPatch) -> None:
    base: dict[str, Any] = {"sentinels": ["10.0.1.1:26379"], "masters": ["redis-cache"]}
    Settings.model_validate(base)
    refused: list[tuple[dict[str, Any], str]] = [
        ({"master_pattern": "redis-*"}, "either masters"),
        ({"masters": []}, "either masters"),
        ({"sentinels": ["10.0.1.1"]}, "host:port"),
        ({"sentinels": ["a:1", "a:1"]}, "twice"),
        ({"password_env": "WK_NOT_SET_ANYWHERE"}, "WK_NOT_SET_ANYWHERE is not set"),
        ({"password_env": "not a name"}, "pattern"),
    ]
    for bad, said in refused:
        with pytest.raises(ValidationError, match=said):
            Settings.model_validate({**base, **bad})
    monkeypatch.setenv("WK_REDIS_PW", "secret")
    settings = Settings.model_validate({**base, "password_env": "WK_REDIS_PW", "username": "wk"})
    assert settings.default_services() == ["redis-cache"]
    pattern = Settings.model_validate({"sentinels": ["a:1"], "master_pattern": "redis-*"})
    assert pattern.default_services() == ["redis-*"]


def test_the_type_is_spelled_with_a_dash_in_app_yaml() -> None:
    config = FleetConfig.model_validate(
        {
            "backends": [
                {
                    "name": "s",
                    "type": "redis-sentinel",
                    "sentinels": ["a:1"],
                    "masters": ["redis-x"],
                }
            ]
        }
    )
    assert config.backends[0].services == ["redis-x"]


def test_facts_from_the_fleet_are_escaped_on_the_card() -> None:
    s = state(votes=(MASTER, MASTER, None))
    hostile = replace(s, quorum_ok=False, quorum_text="<!channel> *NOQUORUM*")
    text = str(status_card(hostile.to_service(region="eu")))
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text


def test_a_confirmed_plan_is_watched_again_with_its_own_targets() -> None:
    s = state(r1={"slave-priority": "10"})
    plan, _ = blueprint(s, "switchover", {}, Timeouts())
    # The set has moved on since (R1 was promoted): the targets come from the plan.
    draft = resumed_draft(s, "switchover", {}, plan, Timeouts())
    assert (draft.master, draft.predicted, draft.pool) == (MASTER, R1, [R1])
    assert [spec.name for spec in draft.steps] == plan.steps
    resync, _ = blueprint(s, "reinit", {"member": R2.name}, Timeouts())
    again = resumed_draft(s, "reinit", {"member": R2.name}, resync, Timeouts())
    assert [spec.do for spec in again.steps] == ["kill_link", "wait_linked"]
    assert again.master == MASTER
    refused, _ = blueprint(s, "restart", {}, Timeouts())
    with pytest.raises(FleetRequestRejected, match="cannot be watched again"):
        resumed_draft(s, "restart", {}, refused, Timeouts())
