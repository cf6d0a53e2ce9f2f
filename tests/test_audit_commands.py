"""`/audit` in Slack, through the real app: recent entries page by page; verify for auditors."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot.audit.models import LOG
from bot.registry import CommandError
from commands.audit import RECENT_USAGE, parse_recent
from tests.conftest import shipped_permissions
from tests.harness import BotHarness
from tests.test_audit_support import append_rows


def test_recent_understands_mentions_names_targets_counts_and_pages() -> None:
    query, shown = parse_recent(["<@UALICE01|alice>", "5"], "/audit")
    assert (query.actor, query.limit, shown) == ("UALICE01", 5, "<@UALICE01|alice>")
    query, _ = parse_recent(["@bob"], "/audit")
    assert (query.actor, query.actor_name) == (None, "bob")
    query, _ = parse_recent(["cli:ops", "before:40"], "/audit")
    assert (query.actor, query.before) == ("cli:ops", 40)
    query, shown = parse_recent(["pg-orders-3"], "/audit")
    assert (query.target, query.limit, shown) == ("pg-orders-3", 10, "pg-orders-3")
    for wrong in (["0"], ["51"], ["a", "b"]):
        with pytest.raises(CommandError, match="Usage"):
            parse_recent(wrong, "/audit")
    assert "recent" in RECENT_USAGE


async def _head(h: BotHarness) -> int:
    # The bot records its own start (config.loaded) before any test row.
    async with h.bot.runtime.engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(LOG)) or 0)


async def test_recent_pages_back_through_one_person_s_entries(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        base = await _head(h)
        async with h.bot.runtime.sessions() as session, session.begin():
            await append_rows(session, 30)  # alice writes every fifth row, from the first
        alice = [base + 1 + i for i in range(0, 30, 5)]
        await h.command("carol", "/audit recent <@UALICE01|alice> 4")
        page = await h.wait_for_response("carol")
        assert page.response_type == "ephemeral"
        shown = json.dumps(page.blocks)
        assert all(f"`#{seq}`" in shown for seq in alice[-4:])
        assert f"`#{alice[1]}`" not in shown and f"`#{alice[-1] - 1}`" not in shown
        assert f"/audit recent &lt;@UALICE01|alice&gt; 4 before:{alice[2]}" in shown

        await h.command("carol", f"/audit recent <@UALICE01|alice> 4 before:{alice[2]}")
        older = json.dumps((await h.wait_for_response("carol", 2)).blocks)
        assert f"`#{alice[1]}`" in older and f"`#{alice[0]}`" in older
        assert "before:" not in older

        await h.command("carol", "/audit recent pg-nowhere")
        assert "No audit entries for pg-nowhere" in (await h.wait_for_response("carol", 3)).text


async def test_verify_is_for_auditors_and_is_itself_recorded(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        base = await _head(h)
        async with h.bot.runtime.sessions() as session, session.begin():
            await append_rows(session, 12)
        await h.command("alice", "/audit verify")
        refused = await h.wait_for_response("alice")
        assert "auditor" in refused.text and "intact" not in refused.text

        await h.command("carol", "/audit verify")
        answer = await h.wait_for_response("carol")
        # The 12 rows, and the two invocations of /audit verify (alice's refused one).
        assert f"Audit chain intact: {base + 12 + 2} rows checked" in answer.text
        async with h.bot.runtime.engine.connect() as conn:
            last = (await conn.execute(select(LOG).order_by(LOG.c.seq.desc()).limit(1))).one()
        assert (last.seq, last.actor, last.action, last.outcome) == (
            base + 12 + 2 + 1,
            "UCAROL03",
            "audit.verified",
            "intact",
        )
        assert json.loads(last.params)["rows_checked"] == base + 12 + 2

        await h.command("carol", "/audit help")
        listing = await h.wait_for_response("carol", 2)
        assert "/audit recent" in json.dumps(listing.blocks)
        assert "/audit verify" in json.dumps(listing.blocks)


async def test_who_may_verify_is_the_audit_verify_rule_alone(db_url: str) -> None:
    # No role is wired into the command itself: the `permissions:` rule decides.
    rules = {**shipped_permissions(), "audit.verify": ["responder"]}
    async with BotHarness(db_url, permissions=rules) as h:
        await h.command("alice", "/audit verify")
        assert "Audit chain intact" in (await h.wait_for_response("alice")).text
        await h.command("carol", "/audit verify")
        refused = (await h.wait_for_response("carol")).text
        assert "audit.verify" in refused and "intact" not in refused
