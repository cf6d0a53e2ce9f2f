"""Through the front door: Alertmanager's captured deliveries POSTed to `/hooks/alertmanager`
of the real app reach `ingest`; a re-delivery creates nothing twice; the resolved delivery
resolves the thread's root."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.harness import BotHarness
from tests.incident_helpers import block_text, incidents, page_count, replies, roots, settle
from tests.intake_helpers import AM_TOKEN, PAYLOADS, intake_section


def delivery(name: str) -> dict[str, Any]:
    captured: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return dict(captured["body"])


async def post(h: BotHarness, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(
            h.url + "/hooks/alertmanager",
            json=body,
            headers={"Authorization": f"Bearer {AM_TOKEN}"},
        )


async def test_alertmanager_deliveries_become_one_thread_and_resolve_it(db_url: str) -> None:
    async with BotHarness(db_url, intake=intake_section()) as h:
        rt = h.bot.runtime
        firing = delivery("alertmanager-0.25-firing-group.json")
        answer = await post(h, firing)
        assert answer.status_code == 200
        accepted = answer.json()
        assert accepted["new"] == accepted["accepted"] == len(firing["alerts"])
        # Alertmanager retries a delivery it thinks failed: nothing new, no second thread.
        assert (await post(h, firing)).json()["new"] == 0
        root = (await h.wait_for(lambda: roots(h.state)))[0]
        assert "PostgresReplicationLag" in root.text
        assert await page_count(rt) == len(firing["alerts"])
        answer = await post(h, delivery("alertmanager-0.25-resolved-group.json"))
        assert answer.status_code == 200
        [incident] = await incidents(rt)
        assert incident.status == "resolved"
        await settle(rt)
        await h.wait_for(lambda: "Resolved by `alertmanager`" in block_text(root.blocks))
        await h.wait_for(lambda: any("cleared" in r.text for r in replies(h.state, root)))
        await h.quiet()
        assert len(roots(h.state)) == 1
