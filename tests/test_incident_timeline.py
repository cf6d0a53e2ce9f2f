"""The incident timeline from the record: an incident driven through the real app (pages on
the webhook, signed Slack clicks and commands), then `/incident timeline` and
`watchkeeper incident export`, event by event; a tampered chain refused; page text escaped."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select

from bot.audit.models import AuditEntry
from bot.cli import main
from bot.incidents.timeline import timeline_of
from tests.actions_support import (
    PERMISSIONS,
    ROLES,
    card,
    fleet_operations,
    in_thread,
    only_request,
    policies,
    text_of,
)
from tests.conftest import base_config
from tests.harness import CHANNEL, USERS, BotHarness, find_button
from tests.incident_helpers import recorded, replies, roots
from tests.intake_helpers import AM_TOKEN, bearer, intake_section
from tests.test_audit_support import allow_tampering, edit

HOSTILE = "Lag <!channel> <@UEVIL0001> <https://evil.example|docs>"
ROUTING = {
    "routes": [
        {"name": "databases", "match": {"kind": "postgres"}, "channel": CHANNEL,
         "mention": [USERS["bob"]]},
    ],
}  # fmt: skip


def _alert(fingerprint: str, member: str, status: str = "firing") -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": HOSTILE, "service": "pg-orders", "kind": "postgres",
                   "member": member, "severity": "critical"},
        "annotations": {"summary": f"{member} is behind {HOSTILE}"},
        "startsAt": "2026-11-26T11:54:30Z",
        "endsAt": "2026-11-26T12:04:30Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
    }  # fmt: skip


async def _page(h: BotHarness, *alerts: dict[str, Any]) -> None:
    body = {"receiver": "watchkeeper", "status": alerts[0]["status"], "alerts": list(alerts),
            "version": "4", "groupKey": "{}:{alertname}"}  # fmt: skip
    async with httpx.AsyncClient() as http:
        sent = await http.post(h.url + "/hooks/alertmanager", json=body, headers=bearer(AM_TOKEN))
    assert sent.status_code < 300, sent.text


def _harness(db_url: str) -> BotHarness:
    return BotHarness(
        db_url, roles=ROLES, policies=policies(), permissions=PERMISSIONS,
        intake=intake_section(), routing=ROUTING,
    )  # fmt: skip


async def _root(h: BotHarness) -> Any:
    await recorded(h.bot.runtime, "incident:1")
    return roots(h.state)[0]


async def _export(config: Path, number: str, fmt: str) -> int:
    """`watchkeeper incident export` as a user runs it, in its own event loop."""
    argv = ["incident", "export", number, "--format", fmt, "--config", str(config)]
    return await asyncio.to_thread(main, argv)


def _config_file(tmp_path: Path, db_url: str) -> Path:
    raw = base_config(storage={"url": db_url}, intake=intake_section(), routing=ROUTING)
    raw["audit"]["checkpoint_file"] = None
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


async def test_the_timeline_tells_what_the_test_did_event_by_event(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with _harness(db_url) as h:
        rt = h.bot.runtime
        await _page(h, _alert("fp-1", "pg-orders-1"))  # the first page opens incident #1
        root = await _root(h)
        await _page(h, _alert("fp-2", "pg-orders-2"))  # grouped into it
        await h.click("bob", find_button(root.blocks, "Acknowledge"), message_ts=root.ts)
        await h.wait_for(lambda: any("acknowledged" in r.text for r in replies(h.state, root)))
        await h.command("alice", "/fleet switchover pg-orders -- replica is behind")
        preview = await h.wait_for_response("alice")
        await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
        approval = await card(h, "Approval needed: switchover pg-orders")
        await h.click("bob", find_button(approval.blocks, "Approve"), message_ts=approval.ts)
        await in_thread(h, approval, "post-check")
        await _page(h, _alert("fp-1", "pg-orders-1", status="resolved"))
        await h.command("alice", "/incident resolve")
        resolved = "You resolved incident #1"
        await h.wait_for(lambda: any(resolved in r.text for r in h.state.responses()))
        await h.quiet()
        request = await only_request(h)
        [op] = await fleet_operations(h, "pg-orders")

        timeline = await timeline_of(rt, 1)
        got = [(e.kind, e.actor, e.outcome) for e in timeline.events]
        alice, bob = USERS["alice"], USERS["bob"]
        assert got == [
            ("page.first", "alertmanager", "firing"),
            ("incident.opened", "watchkeeper:automation", "triggered"),
            ("page.grouped", "alertmanager", "firing"),
            ("command.invoked", bob, "allowed"),  # the Acknowledge button
            ("incident.acknowledged", bob, "acknowledged"),
            ("command.invoked", alice, "allowed"),  # /fleet switchover pg-orders
            ("guard.decided", alice, "needs_confirmation"),
            ("command.invoked", alice, "allowed"),  # Confirm
            ("confirmation", alice, "confirmed"),
            ("approval.requested", alice, "needs_approval"),
            ("command.invoked", bob, "allowed"),  # Approve
            ("approval.decided", bob, "approved"),
            ("guard.decided", bob, "accepted"),
            ("operation.requested", alice, "accepted"),
            ("operation.started", alice, "accepted"),
            ("operation.finished", alice, "succeeded"),
            ("operation.post_check", alice, "succeeded"),
            ("page.resolved", "alertmanager", "resolved"),
            ("command.invoked", alice, "allowed"),  # /incident resolve
            ("incident.resolved", alice, "resolved"),
        ]
        # Audit numbers are the rows' own, in order; the operation is the fleet's id.
        seqs = [e.audit_seq for e in timeline.events if e.audit_seq is not None]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        started = next(e for e in timeline.events if e.kind == "operation.started")
        assert (started.operation_id, started.request_id) == (op["id"], request.id)
        assert timeline.requests == [request.id]
        assert timeline.paged_users == [bob]
        d = timeline.durations()
        incident = timeline.incident
        assert (
            d["to_acknowledge_seconds"]
            == (
                incident.acknowledged_at - incident.opened_at  # type: ignore[operator]
            ).total_seconds()
        )
        finished = next(e for e in timeline.events if e.kind == "operation.finished")
        assert d["to_mitigate_seconds"] == (finished.at - incident.opened_at).total_seconds()
        assert (
            d["to_resolve_seconds"]
            == (
                incident.resolved_at - incident.opened_at  # type: ignore[operator]
            ).total_seconds()
        )
        assert d["to_acknowledge_seconds"] <= d["to_mitigate_seconds"] <= d["to_resolve_seconds"]

        # The JSON export says the same, with its schema and the verification.
        config = _config_file(tmp_path, db_url)
        assert await _export(config, "1", "json") == 0
        out = capsys.readouterr()
        doc = json.loads(out.out)
        assert (doc["schema"], doc["version"]) == ("watchkeeper.incident-timeline", 1)
        assert [(e["kind"], e["actor"], e["outcome"]) for e in doc["events"]] == got
        assert [e["audit_seq"] for e in doc["events"]] == [e.audit_seq for e in timeline.events]
        assert doc["audit"]["verified"] is True and doc["audit"]["rows_checked"] >= len(seqs)
        assert doc["durations"] == d
        assert "Audit chain verified before export" in out.err
        # The Markdown: a table a review document takes as is, the page text inert.
        assert await _export(config, "#1", "md") == 0
        md = capsys.readouterr().out
        assert md.startswith("# Incident #1: ")
        assert f"| {op['id']} |" in md and "Audit chain verified before export" in md
        assert "<!channel>" not in md and "\\<!channel\\>" in md


async def test_slack_timeline_escapes_hostile_page_text(db_url: str) -> None:
    async with _harness(db_url) as h:
        await _page(h, _alert("fp-1", "pg-orders-1"))
        await _root(h)
        await h.command("carol", "/incident timeline #1")  # an auditor: read-only
        answer = await h.wait_for_response("carol")
        shown = text_of(answer)
        assert "page.first" in shown and "Timeline of incident #1" in shown
        assert "&lt;!channel&gt;" in shown and "&lt;@UEVIL0001&gt;" in shown
        for live in ("<!channel>", "<@UEVIL0001>", "<https://evil.example|docs>"):
            assert live not in shown
        # Reading is not acting: someone with no role is refused by the permission step.
        await h.command("erin", "/incident timeline #1")
        refused = await h.wait_for_response("erin")
        assert "incident.timeline" in refused.text and "page.first" not in text_of(refused)


async def test_a_tampered_chain_is_refused_with_the_reason(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with _harness(db_url) as h:
        rt = h.bot.runtime
        await _page(h, _alert("fp-1", "pg-orders-1"))
        root = await _root(h)
        await h.click("bob", find_button(root.blocks, "Acknowledge"), message_ts=root.ts)
        await h.wait_for(lambda: any("acknowledged" in r.text for r in replies(h.state, root)))
        await h.quiet()
        async with rt.sessions() as session:
            acked = await session.scalar(
                select(AuditEntry.seq).where(AuditEntry.action == "incident.acknowledged")
            )
        # Someone rewrites who acknowledged, straight in the database.
        await allow_tampering(rt.engine)
        async with rt.engine.begin() as conn:
            await edit(conn, acked, actor=USERS["carol"])
        config = _config_file(tmp_path, db_url)
        assert await _export(config, "1", "md") == 1
        out = capsys.readouterr()
        assert out.out == ""
        assert f"export refused: the audit chain is broken at row {acked}" in out.err
        await h.command("carol", "/incident timeline #1")
        answer = (await h.wait_for_response("carol")).text
        assert f"No timeline: the audit chain is broken at row {acked}" in answer
