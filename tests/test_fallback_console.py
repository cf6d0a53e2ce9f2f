"""The fallback console while Slack answers 503 throughout: alice requests a switchover from
her console, bob approves from his, the fleet switches; when Slack returns the incident
thread tells the story in order and the audit chain verifies. Refusals name their reason.

Each engineer runs the real `watchkeeper ops` command line against the running bot's ops
endpoint, with their own login and token; nothing here holds the database or audit key.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.actions.models import ActionRequest
from bot.audit.hash_chain import KeyRing
from bot.audit.models import AuditEntry
from bot.audit.verifier import verify
from bot.cli import main
from bot.console.auth import token_hash
from tests.actions_support import PERMISSIONS, ROLES, fleet_service, policies, primary_of
from tests.harness import CHANNEL, USERS, BotHarness
from tests.incident_helpers import recorded
from tests.intake_helpers import AM_TOKEN, bearer, intake_section

TOKENS = {login: f"{login}-console-token-0123456789abcdef" for login in ("alice", "bob", "erin")}
CLI = {"users": {login: {"slack_user": USERS[login], "token_sha256": token_hash(token)}
                 for login, token in TOKENS.items()}}  # fmt: skip
ALERT = {
    "status": "firing",
    "labels": {"alertname": "PostgresReplicationLag", "service": "pg-orders",
               "kind": "postgres", "severity": "critical"},
    "annotations": {"summary": "pg-orders replica is behind"},
    "startsAt": "2026-11-26T11:54:30Z", "endsAt": "0001-01-01T00:00:00Z",
    "fingerprint": "fp-lag-1",
}  # fmt: skip


class Console:
    """One engineer's terminal: their login and token file, the real CLI."""

    def __init__(self, h: BotHarness, tmp_path: Path, login: str, token: str) -> None:
        self.h, self.login = h, login
        self.token_file = tmp_path / f"{login}.token"
        self.token_file.write_text(token + "\n")

    async def run(self, capsys: pytest.CaptureFixture[str], *words: str) -> tuple[int, str, str]:
        argv = ["ops", "--url", self.h.url, "--login", self.login,
                "--token-file", str(self.token_file), *words]  # fmt: skip
        code = await asyncio.to_thread(main, argv)
        out = capsys.readouterr()
        return code, out.out, out.err


def _harness(db_url: str) -> BotHarness:
    return BotHarness(
        db_url, roles=ROLES, policies=policies(), permissions=PERMISSIONS,
        intake=intake_section(), cli=CLI, outbox={"max_backoff_seconds": 0.5},
    )  # fmt: skip


async def _request(h: BotHarness, request_id: str) -> ActionRequest | None:
    async with h.bot.runtime.sessions() as session:
        return await session.get(ActionRequest, request_id)


async def _audit(h: BotHarness) -> list[AuditEntry]:
    async with h.bot.runtime.sessions() as session:
        return list(await session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


async def test_a_switchover_from_two_consoles_while_slack_is_down(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with _harness(db_url) as h:
        alice = Console(h, tmp_path, "alice", TOKENS["alice"])
        bob = Console(h, tmp_path, "bob", TOKENS["bob"])
        h.state.set_fault("error_5xx", status=503, retry_after=0.2)  # Slack is down
        body = {"receiver": "wk", "status": "firing", "alerts": [ALERT], "version": "4",
                "groupKey": "{}:{alertname}"}  # fmt: skip
        async with httpx.AsyncClient() as http:
            sent = await http.post(h.url + "/hooks/alertmanager", json=body,
                                   headers=bearer(AM_TOKEN))  # fmt: skip
        assert sent.status_code == 200
        before = primary_of(await fleet_service(h, "pg-orders"))

        code, out, _ = await alice.run(capsys, "incidents")
        assert code == 0 and "#1 [critical] PostgresReplicationLag — pg-orders" in out
        code, out, _ = await alice.run(capsys, "status", "pg-orders")
        assert code == 0 and "pg-orders" in out
        code, out, _ = await alice.run(
            capsys, "request", "switchover", "pg-orders", "--reason", "replica is behind"
        )
        assert code == 0 and "Preview: switchover pg-orders" in out, out
        request_id = re.search(r"request: (\w+)", out).group(1)  # type: ignore[union-attr]
        # alice cannot approve her own request: the second-person guard says so.
        code, out, _ = await alice.run(capsys, "confirm", request_id)
        assert code == 0 and (await _request(h, request_id)).state == "confirmed"  # type: ignore[union-attr]
        code, out, _ = await alice.run(capsys, "approve", request_id)
        assert (await _request(h, request_id)).state == "confirmed"  # type: ignore[union-attr]
        # erin is mapped but holds no approving role: refused by the guard chain.
        erin = Console(h, tmp_path, "erin", TOKENS["erin"])
        await erin.run(capsys, "approve", request_id)
        assert (await _request(h, request_id)).state == "confirmed"  # type: ignore[union-attr]
        code, out, _ = await bob.run(capsys, "approve", request_id)
        assert code == 0, out

        async def done() -> ActionRequest | None:
            row = await _request(h, request_id)
            return row if row is not None and row.state in ("succeeded", "failed") else None

        row = await h.eventually(done, within=30)
        assert row.state == "succeeded"
        assert primary_of(await fleet_service(h, "pg-orders")) != before
        # Nothing reached Slack while it was down.
        assert h.state.messages(CHANNEL) == []

        h.state.clear_fault()  # Slack is back: the outbox tells the thread what happened
        root_ts = await recorded(h.bot.runtime, "incident:1", within=30)
        story = [
            ":computer: alice (console) requested switchover pg-orders",
            ":computer: alice (console) confirmed switchover pg-orders",
            ":computer: bob (console) approved switchover pg-orders",
            "post-check",
        ]

        def told() -> list[str] | None:
            thread = [m.text for m in h.state.thread(CHANNEL, root_ts)]
            return thread if all(any(s in t for t in thread) for s in story) else None

        thread = await h.wait_for(told, within=30)
        where = [next(i for i, t in enumerate(thread) if s in t) for s in story]
        assert where == sorted(where), thread

        rows = await _audit(h)
        by = {(r.action, r.actor, r.actor_name) for r in rows}
        assert ("confirmation", "cli:alice", USERS["alice"]) in by
        assert ("approval.decided", "cli:bob", USERS["bob"]) in by
        invoked = [json.loads(r.params) for r in rows if r.action == "command.invoked"]
        assert invoked and all(p["surface"] == "console" for p in invoked)
        # The guard chain turned away alice's own approval and erin's, as it does in Slack.
        refused = [r for r in rows if (r.action, r.outcome) == ("guard.decided", "denied")]
        assert [r.actor for r in refused] == ["cli:alice", "cli:erin"]
        assert [r.actor for r in rows if r.action == "approval.decided"] == ["cli:bob"]
        async with h.bot.runtime.engine.connect() as conn:
            assert (await verify(conn, KeyRing.from_config(h.config.audit))).ok


async def test_unmapped_logins_and_wrong_tokens_are_refused_with_the_reason(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with _harness(db_url) as h:
        mallory = Console(h, tmp_path, "mallory", "mallory-token")
        code, _, err = await mallory.run(capsys, "incidents")
        assert code == 1 and "'mallory' is not mapped to a Slack user in cli.users" in err
        stolen = Console(h, tmp_path, "alice", TOKENS["bob"])  # bob's token, alice's login
        code, _, err = await stolen.run(capsys, "incidents")
        assert code == 1 and "401" in err
        rows = await _audit(h)
        assert [r for r in rows if r.action == "command.invoked"] == []


async def test_without_mapped_engineers_there_is_no_endpoint(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        async with httpx.AsyncClient() as http:
            answer = await http.post(h.url + "/ops/v1/incidents", json={})
        assert answer.status_code == 404


@pytest.mark.parametrize("body", [[], {"service": 7}, {"service": "x" * 500}])
async def test_a_malformed_body_is_a_clear_400(db_url: str, body: Any) -> None:
    async with _harness(db_url) as h:
        headers = {"Authorization": f"Bearer {TOKENS['alice']}", "X-Watchkeeper-Login": "alice"}
        async with httpx.AsyncClient() as http:
            answer = await http.post(h.url + "/ops/v1/status", json=body, headers=headers)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid"
