"""The published head anchors the audit tail: checkpoints every N rows as well as on the
timer, and `audit verify` (CLI and `/audit verify`) names the rows cut after the last
published head and refuses a verdict when the configured checkpoint log is gone or garbled.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.audit.checkpoint_schedule import checkpoint_due
from bot.audit.install import CHECKPOINT_JOB
from bot.audit.models import LOG
from bot.audit.published import (
    Checkpoint,
    PublishedLogUnreadable,
    last_published,
    read_published,
)
from bot.cli import main
from tests.conftest import base_config
from tests.harness import BotHarness
from tests.test_audit_support import allow_tampering, append_rows, cut_tail

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
EVERY_ROWS = 5


class Clock:
    """The bot's "now", moved by the test: the timer fires only when the test says so."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _audit(log: Path) -> dict[str, object]:
    return {
        "key": base_config()["audit"]["key"],
        "checkpoint_rows": EVERY_ROWS,
        "checkpoint_minutes": 15,
        "checkpoint_file": str(log),
    }


def _app_yaml(tmp_path: Path, db_url: str, log: Path) -> str:
    raw = base_config(storage={"url": db_url}, audit=_audit(log))
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


async def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    # The CLI runs its own event loop, so it gets a thread of its own here.
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def _tick(h: BotHarness) -> None:
    """One run of the checkpoint job, on the leader, as the scheduler would start it."""
    scheduler = h.bot.runtime.scheduler

    async def leading() -> bool:
        return scheduler.is_leader

    await h.eventually(leading)
    assert await scheduler.run_now(CHECKPOINT_JOB)


async def _add_rows(h: BotHarness, count: int, first: int = 0) -> None:
    async with h.bot.runtime.sessions() as session, session.begin():
        await append_rows(session, count, first=first)


async def _head_seq(h: BotHarness) -> int:
    async with h.bot.runtime.engine.connect() as conn:
        return int(await conn.scalar(select(LOG.c.seq).order_by(LOG.c.seq.desc()).limit(1)) or 0)


def test_a_checkpoint_is_due_after_n_rows_or_on_the_timer_whichever_comes_first() -> None:
    last = Checkpoint(seq=100, hash="a" * 64, at="2026-03-01T03:00:00.000000Z", key_id="k1")
    soon, late = T0 + timedelta(minutes=1), T0 + timedelta(minutes=15)

    def due(seq: int, now: datetime) -> str | None:
        return checkpoint_due(
            head=(seq, "b" * 64), last=last, now=now, every_rows=5, every=timedelta(minutes=15)
        )

    assert due(104, soon) is None
    assert due(105, soon) == "rows"
    assert due(101, late) == "timer"
    assert due(100, late) is None  # an idle bot publishes nothing
    assert due(97, late) is None  # behind the published head: the log already tells
    assert (
        checkpoint_due(
            head=(1, "c" * 64), last=None, now=soon, every_rows=5, every=timedelta(minutes=15)
        )
        == "first"
    )


async def test_a_checkpoint_follows_n_rows_without_waiting_for_the_timer(
    db_url: str, tmp_path: Path
) -> None:
    log, clock = tmp_path / "anchor" / "checkpoints.log", Clock()
    async with BotHarness(db_url, clock=clock, audit=_audit(log)) as h:
        await _tick(h)  # no log yet: the first checkpoint creates it
        [first] = read_published(log)
        assert first.seq == await _head_seq(h)

        await _add_rows(h, EVERY_ROWS - 1)
        await _tick(h)
        assert len(read_published(log)) == 1  # one row short, and the timer is far off

        await _add_rows(h, 1, first=EVERY_ROWS - 1)
        await _tick(h)
        second = last_published(log)
        assert second is not None and second.seq == first.seq + EVERY_ROWS
        assert second.at == first.at  # no time passed: the count alone triggered it

        await _add_rows(h, 1, first=EVERY_ROWS)
        await _tick(h)
        assert len(read_published(log)) == 2
        clock.now += timedelta(minutes=15)
        await _tick(h)
        assert [c.seq for c in read_published(log)] == [
            first.seq,
            second.seq,
            second.seq + 1,
        ]


async def test_a_normal_run_verifies_against_its_published_checkpoints(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "checkpoints.log"
    async with BotHarness(db_url, audit=_audit(log)) as h:
        await _tick(h)
        await _add_rows(h, EVERY_ROWS)
        await _tick(h)
        assert len(read_published(log)) == 2
        code, out, _ = await _cli(
            capsys, "audit", "verify", "--config", _app_yaml(tmp_path, db_url, log)
        )
        assert code == 0, out
        assert f"checkpoints: 2 read from {log}" in out and "2 checkpoint(s) match" in out

        await h.command("carol", "/audit verify")
        answer = await h.wait_for_response("carol")
        assert "Audit chain intact" in answer.text and "2 checkpoint(s) match" in answer.text


async def test_cutting_the_newest_rows_after_a_checkpoint_names_the_missing_rows(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "checkpoints.log"
    async with BotHarness(db_url, audit=_audit(log)) as h:
        await _add_rows(h, 2 * EVERY_ROWS)
        await _tick(h)
        published = last_published(log)
        assert published is not None and published.seq == await _head_seq(h)
        # Someone with database access deletes the newest 3 rows and resets the head.
        await allow_tampering(h.bot.runtime.engine)
        async with h.bot.runtime.engine.begin() as conn:
            await cut_tail(conn, published.seq - 3)
        gone = f"rows {published.seq - 2}–{published.seq} are missing"

        code, out, _ = await _cli(
            capsys, "audit", "verify", "--config", _app_yaml(tmp_path, db_url, log)
        )
        assert code == 1
        assert f"BROKEN at row {published.seq - 2} (truncated)" in out and gone in out

        # In Slack the command's own invocation row is written first, at the next seq
        # after the cut head: one row fewer is missing, and still the cut is named.
        await h.command("carol", "/audit verify")
        answer = await h.wait_for_response("carol")
        assert "BROKEN" in answer.text
        assert f"rows {published.seq - 1}–{published.seq} are missing" in answer.text


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda log: log.unlink(), "does not exist"),
        (
            lambda log: log.write_text(log.read_text() + "not a checkpoint at all\n"),
            "line 2 is not a checkpoint",
        ),
        (lambda log: log.write_bytes(b"\xff\xfe\x00garbage"), "is not UTF-8 text"),
        (lambda log: log.write_text("\n"), "holds no checkpoint"),
    ],
    ids=["missing", "garbage-line", "not-text", "empty"],
)
async def test_verify_fails_naming_a_missing_or_unreadable_checkpoint_file(
    db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: object,
    reason: str,
) -> None:
    log = tmp_path / "checkpoints.log"
    async with BotHarness(db_url, audit=_audit(log)) as h:
        await _add_rows(h, 3)
        await _tick(h)
        assert callable(damage)
        damage(log)
        await _add_rows(h, EVERY_ROWS, first=3)
        await _tick(h)  # a due checkpoint neither recreates a lost log nor hides damage
        with pytest.raises(PublishedLogUnreadable, match=reason):
            read_published(log)

        config = _app_yaml(tmp_path, db_url, log)
        code, out, err = await _cli(capsys, "audit", "verify", "--config", config)
        assert code == 1 and "intact" not in out
        assert f"audit chain NOT verified: audit checkpoint file {log}: {reason}" in err
        # Naming no checkpoints on purpose still checks the chain itself.
        code, out, _ = await _cli(capsys, "audit", "verify", "--config", config, "--no-checkpoints")
        assert code == 0 and "audit chain intact" in out

        await h.command("carol", "/audit verify")
        answer = await h.wait_for_response("carol")
        assert "NOT verified" in answer.text and str(log) in answer.text and reason in answer.text
        async with h.bot.runtime.engine.connect() as conn:
            row = (await conn.execute(select(LOG).order_by(LOG.c.seq.desc()).limit(1))).one()
        assert (row.action, row.outcome) == ("audit.verified", "broken")
        assert reason in json.loads(row.params)["problem"]
