"""The chain's parts: canonical JSON, redaction, the HMAC, and `append` on both databases."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.audit.actors import AUTOMATION, Actor, cli_actor
from bot.audit.canonical import REDACTED, canonical_params, is_secret_name, redact
from bot.audit.hash_chain import ChainKey, KeyRing, at_text, row_text
from bot.audit.models import GENESIS_HASH, HEAD, LOG, AuditEntry
from bot.audit.verifier import verify
from bot.audit.writer import append, record_config_loaded
from bot.config import ConfigError, parse_config
from bot.db.engine import session_factory
from tests.conftest import base_config
from tests.test_audit_support import KEY, KEYS, append_rows, stepping_clock

text_values = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    seq=st.integers(min_value=1, max_value=2**62),
    fields=st.lists(text_values, min_size=6, max_size=6),
    ref=st.none() | text_values,
    params=st.dictionaries(text_values, st.none() | st.integers() | text_values, max_size=4),
)
def test_row_text_is_the_canonical_json_of_the_row(
    seq: int, fields: list[str], ref: str | None, params: dict[str, Any]
) -> None:
    at, actor, name, action, target, outcome = fields
    stored = json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    row = {"seq": seq, "at": at, "actor": actor, "actor_name": name, "action": action,
           "target": target, "params": params, "outcome": outcome, "ref": ref,
           "key_id": "k"}  # fmt: skip
    expected = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert row_text(seq, at, actor, name, action, target, stored, outcome, ref, "k") == expected


@pytest.mark.parametrize("secret", [KEY, "x" * 64, "y" * 65, "ü" * 200])
def test_the_precomputed_hmac_is_hmac_sha256(secret: str) -> None:
    key = ChainKey(secret)
    expected = hmac.new(secret.encode(), b"prev" + "row ✓".encode(), hashlib.sha256).hexdigest()
    assert key.mac("prev", "row ✓") == expected
    assert secret not in repr(key)


def test_keys_are_told_apart_by_id_without_revealing_them() -> None:
    a, b = ChainKey("a" * 32), ChainKey("b" * 32)
    assert len(a.key_id) == 16 and a.key_id != b.key_id
    assert a.key_id == ChainKey("a" * 32).key_id
    with pytest.raises(ValueError):
        ChainKey("short")


def test_at_is_utc_with_microseconds_and_z() -> None:
    local = datetime(2024, 5, 1, 5, 12, tzinfo=UTC).astimezone()
    assert at_text(local) == "2024-05-01T05:12:00.000000Z"
    with pytest.raises(ValueError):
        at_text(datetime(2024, 5, 1))


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("token", True), ("bot_token", True), ("apiKey", True), ("X-API-Key", True),
        ("password", True), ("db_passwd", True), ("client_secret", True), ("credentials", True),
        ("Authorization", True), ("signing_secret", True), ("private_key", True), ("keys", True),
        ("idempotency_key", False), ("key_id", False), ("monkey", False), ("author", False),
        ("service", False), ("reason", False), ("tokenizer_name", False),
    ],
)  # fmt: skip
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_params_are_canonical_and_redacted() -> None:
    params = {
        "b": 1,
        "a": {"password": "hunter2", "list": [SecretStr("s3cret"), "ok"]},
        "dsn": "postgresql://app:pa55word@db:5432/x",
        "header": "Bearer abc.def",
        "slack": "xoxb-123-456",
        "note": "naïve ✓",
        "at": datetime(2024, 5, 1, tzinfo=UTC),
        "idempotency_key": "trigger:123",
        "token": None,
    }
    stored = canonical_params(params)
    assert stored == (
        '{"a":{"list":["[redacted]","ok"],"password":"[redacted]"},'
        '"at":"2024-05-01T00:00:00+00:00","b":1,"dsn":"postgresql://app:[redacted]@db:5432/x",'
        '"header":"[redacted]","idempotency_key":"trigger:123","note":"naïve ✓",'
        '"slack":"[redacted]","token":null}'
    )
    for secret in ("hunter2", "s3cret", "pa55word", "abc.def", "xoxb-123"):
        assert secret not in stored


def test_values_that_cannot_be_recorded_safely_are_refused() -> None:
    with pytest.raises(TypeError):
        redact({"obj": object()})
    with pytest.raises(ValueError):
        canonical_params({"x": float("nan")})


def test_the_config_takes_the_key_only_from_the_environment() -> None:
    raw = base_config()
    raw["audit"] = {"key": "a-literal-key-in-the-file"}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, {})
    assert "audit.key" in dict(caught.value.problems)
    raw["audit"] = {"key": "${AUDIT_KEY}"}
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, {"AUDIT_KEY": "short"})
    assert "audit.key" in dict(caught.value.problems)
    config = parse_config(raw, {"AUDIT_KEY": KEY})
    assert config.audit.key is not None and config.audit.key.get_secret_value() == KEY
    assert KEY not in repr(config)
    without = base_config()
    del without["audit"]
    assert parse_config(without, {}).audit.key is None


async def test_append_assigns_seq_from_the_head_and_links_each_row(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        first = await append(
            session, key=KEYS, actor=Actor.slack("UALICE01", "alice"), action="command.invoked",
            target="pg-orders", params={"args": ["status"]}, outcome="accepted", ref="op:1",
        )  # fmt: skip
        second = await append(
            session, key=KEYS, actor=AUTOMATION, action="automation.decided",
            target="pg-orders", outcome="skipped",
        )  # fmt: skip
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.hash
    async with engine.connect() as conn:
        head = (await conn.execute(select(HEAD.c.seq, HEAD.c.hash))).one()
        stored = (await conn.execute(select(LOG).where(LOG.c.seq == 2))).one()
    assert tuple(head) == (2, second.hash)
    assert stored.actor == "watchkeeper:automation" and stored.params == "{}"
    assert stored.ref is None and stored.key_id == KEYS.current.key_id


async def test_a_rolled_back_transaction_leaves_no_row_and_no_gap(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await append_rows(session, 2)
    with pytest.raises(RuntimeError):
        async with sessions() as session, session.begin():
            await append_rows(session, 3, first=2)
            raise RuntimeError("the action failed before commit")
    async with sessions() as session, session.begin():
        await append_rows(session, 1, first=5)
    async with engine.connect() as conn:
        seqs = list((await conn.scalars(select(LOG.c.seq).order_by(LOG.c.seq))).all())
        report = await verify(conn, KEYS)
    assert seqs == [1, 2, 3]
    assert report.ok and report.rows_checked == 3


async def test_the_table_refuses_updates_deletes_and_orm_writes(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await append_rows(session, 2)
    for statement in ("UPDATE audit_log SET outcome = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text(statement))
    with pytest.raises(RuntimeError, match=r"bot\.audit\.append"):
        async with sessions() as session, session.begin():
            row = await session.get(AuditEntry, 1)
            assert row is not None
            row.outcome = "edited through the ORM"
    async with engine.connect() as conn:
        assert (await verify(conn, KEYS)).ok


async def test_the_config_loaded_row_keeps_no_secret(engine: AsyncEngine) -> None:
    raw = base_config(storage={"url": "postgresql+psycopg://app:db-pa55@db/wk"})
    raw["fleet"]["backends"][0]["token"] = "${FLEET_TOKEN}"
    env = {"FLEET_TOKEN": "fleet-token-secret", "WATCHKEEPER_AUDIT_KEY": KEY}
    config = parse_config(raw, env)
    async with session_factory(engine)() as session, session.begin():
        record = await record_config_loaded(session, config, cli_actor(), clock=stepping_clock())
    assert record.action == "config.loaded" and record.outcome == "loaded"
    assert record.actor.startswith("cli:")
    params = json.loads(record.params)
    assert len(params["fingerprint"]) == 16
    assert params["config"]["channels"]["audit"] == "C0AUDIT01"
    assert params["config"]["slack"]["signing_secret"] == REDACTED
    assert params["config"]["audit"]["key"] == REDACTED
    async with engine.connect() as conn:
        dump = " ".join(str(v) for row in (await conn.execute(select(LOG))).all() for v in row)
    for secret in (KEY, "db-pa55", "fleet-token-secret", "test-signing-secret", "xoxb-test"):
        assert secret not in dump


async def test_the_config_loaded_row_hides_a_database_password_with_a_slash(
    engine: AsyncEngine,
) -> None:
    raw = base_config(storage={"url": "postgresql+psycopg://app:pa/ss:w0rd@db/wk"})
    config = parse_config(raw, {"WATCHKEEPER_AUDIT_KEY": KEY})
    async with session_factory(engine)() as session, session.begin():
        record = await record_config_loaded(session, config, cli_actor(), clock=stepping_clock())
    stored = json.loads(record.params)["config"]["storage"]["url"]
    assert stored == f"postgresql+psycopg://app:{REDACTED}@db/wk"
    assert "pa/ss" not in record.params and "w0rd" not in record.params


async def test_rows_signed_before_a_key_rotation_still_verify(engine: AsyncEngine) -> None:
    old, new = "old-key-0123456789abcdef", "new-key-0123456789abcdef"
    sessions = session_factory(engine)
    clock = stepping_clock()
    for key in (old, new):
        async with sessions() as session, session.begin():
            for i in range(3):
                await append(
                    session, key=KeyRing.of([key]), actor=AUTOMATION, action="a.b",
                    target=f"t{i}", outcome="ok", clock=clock,
                )  # fmt: skip
    async with engine.connect() as conn:
        assert (await verify(conn, KeyRing.of([new, old]))).ok
        only_new = await verify(conn, KeyRing.of([new]))
    assert only_new.problem is not None and only_new.problem.kind == "bad key"


async def test_timestamps_survive_the_round_trip_exactly(engine: AsyncEngine) -> None:
    odd = datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)
    async with session_factory(engine)() as session, session.begin():
        for at in (odd, odd + timedelta(microseconds=1), odd.replace(microsecond=0)):
            await append(
                session, key=KEYS, actor=AUTOMATION, action="a.b", target="t",
                outcome="ok", clock=lambda at=at: at,
            )  # fmt: skip
    async with engine.connect() as conn:
        report = await verify(conn, KEYS)
    assert report.ok, report.problem
