"""`watchkeeper audit verify | export | checkpoint`, as an operator runs them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.audit import parallel as parallel_module
from bot.audit.parallel import verify_in_processes
from bot.audit.published import read_published
from bot.audit.verifier import verify
from bot.cli import main
from bot.config import parse_config
from bot.db.engine import session_factory
from bot.db.models import OutboxMessage
from tests.conftest import base_config
from tests.test_audit_support import KEYS, allow_tampering, append_rows, cut_tail, edit, remove


def _config_file(tmp_path: Path, db_url: str, **audit: Any) -> Path:
    """An app.yaml in `tmp_path`; no checkpoint file unless `checkpoint_file` names one."""
    raw = base_config(storage={"url": db_url})
    raw["audit"].update({"checkpoint_file": None, **audit})
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


async def _fill(engine: AsyncEngine, rows: int) -> None:
    async with session_factory(engine)() as session, session.begin():
        await append_rows(session, rows)


async def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    # The CLI runs its own event loop, so it gets a thread of its own here.
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_verify_reports_an_intact_chain_and_exits_0(
    engine: AsyncEngine, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _fill(engine, 40)
    config = _config_file(tmp_path, db_url)
    code, out, _ = await _run(capsys, "audit", "verify", "--config", str(config))
    assert code == 0
    assert "audit chain intact: 40 rows checked" in out and "rows/s" in out
    code, out, _ = await _run(capsys, "audit", "--config", str(config), "verify", "--since", "31")
    assert code == 0 and "10 rows checked" in out


async def test_verify_names_the_first_bad_row_and_exits_1(
    engine: AsyncEngine, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _fill(engine, 40)
    await allow_tampering(engine)
    async with engine.begin() as conn:
        await edit(conn, 17, target="pg-innocent")
        await remove(conn, 30)
    config = str(_config_file(tmp_path, db_url))
    code, out, _ = await _run(capsys, "audit", "verify", "--config", config)
    assert code == 1
    assert "BROKEN at row 17 (edited)" in out and "16 rows checked" in out


async def test_checkpoints_go_to_the_file_and_the_audit_channel_and_catch_a_cut(
    engine: AsyncEngine, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config_file(tmp_path, db_url, checkpoint_file=str(tmp_path / "checkpoints.log"))
    await _fill(engine, 20)
    code, out, _ = await _run(capsys, "audit", "checkpoint", "--config", str(config))
    assert code == 0 and json.loads(out)["seq"] == 20
    code, out, _ = await _run(capsys, "audit", "checkpoint", "--config", str(config))
    assert code == 0 and "has not moved" in out
    code, out, _ = await _run(capsys, "audit", "checkpoint", "--config", str(config), "--force")
    assert code == 0 and json.loads(out)["seq"] == 20
    [first, again] = read_published(tmp_path / "checkpoints.log")
    async with engine.connect() as conn:
        head_hash = await conn.scalar(select(OutboxMessage.payload).limit(1))
        posts = (await conn.execute(select(OutboxMessage.lane, OutboxMessage.payload))).all()
    assert first.seq == again.seq == 20 and first.hash == again.hash
    assert head_hash is not None
    assert [lane for lane, _ in posts] == ["C0AUDIT01", "C0AUDIT01"]
    assert first.line() in json.loads(posts[0][1])["text"]

    await allow_tampering(engine)
    async with engine.begin() as conn:
        await cut_tail(conn, 12)
    code, out, _ = await _run(capsys, "audit", "verify", "--config", str(config))
    assert code == 1
    assert "checkpoints: 2 read from" in out
    assert "BROKEN at row 13 (truncated)" in out and "records seq 20" in out
    code, out, _ = await _run(
        capsys, "audit", "verify", "--config", str(config), "--no-checkpoints"
    )
    assert code == 0  # without the published checkpoints, the clean cut is invisible


async def test_export_streams_jsonl_and_csv_to_stdout(
    engine: AsyncEngine, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _fill(engine, 10)
    config = str(_config_file(tmp_path, db_url))
    code, out, err = await _run(
        capsys, "audit", "export", "--config", config, "--since", "2024-05-01T03:00:03Z",
        "--until", "2024-05-01", "--actor", "UALICE01",
    )  # fmt: skip
    assert (code, out) == (0, "") and "exported 0 rows" in err
    code, out, err = await _run(
        capsys, "audit", "export", "--config", config, "--since", "2024-05-01T03:00:03Z",
        "--until", "now",
    )  # fmt: skip
    assert code == 0 and "exported 8 rows" in err
    assert [json.loads(line)["seq"] for line in out.splitlines()] == list(range(3, 11))
    code, out, _ = await _run(capsys, "audit", "export", "--config", config, "--format", "csv",
                        "--target", "pg-orders-1")  # fmt: skip
    assert out.splitlines()[0].startswith("seq,at,actor,actor_name,action,target,params")
    assert len(out.splitlines()) == 1 + 2  # rows 2 and 9 are about pg-orders-1
    with pytest.raises(SystemExit):
        await _run(capsys, "audit", "export", "--config", config, "--since", "yesterday-ish")


async def test_verify_without_a_key_explains_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = base_config()
    del raw["audit"]
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(raw))
    code, _, err = await _run(capsys, "audit", "verify", "--config", str(tmp_path / "app.yaml"))
    assert code == 2 and "audit.key is not set" in err


async def test_verify_in_processes_names_the_same_row_as_one_pass(
    engine: AsyncEngine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel_module, "MIN_ROWS_PER_JOB", 50)
    await _fill(engine, 200)  # ranges 1-100 and 101-
    audit = parse_config(base_config(), {}).audit
    async with engine.connect() as conn:
        report = await verify_in_processes(conn, db_url, audit, jobs=2)
    assert report.ok and report.rows_checked == 200 and report.last_seq == 200

    await allow_tampering(engine)

    async def edit_outcome(conn: AsyncConnection, seq: int) -> None:
        await edit(conn, seq, outcome="x")

    # Each change lies before the one already made, so it is the one verify must name.
    for seq, kind, change in [
        (101, "edited", edit_outcome),  # the first row of the second range
        (100, "missing", remove),  # the last row of the first: only the seam shows it
    ]:
        async with engine.begin() as conn:
            await change(conn, seq)
        async with engine.connect() as conn:
            single = await verify(conn, KEYS)
            spread = await verify_in_processes(conn, db_url, audit, jobs=2)
        assert single.problem is not None and spread.problem is not None
        assert (single.problem.seq, single.problem.kind) == (seq, kind)
        assert (spread.problem.seq, spread.problem.kind) == (seq, kind)
        assert spread.rows_checked == single.rows_checked == seq - 1
