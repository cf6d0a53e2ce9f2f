"""Identity carries through to the fleet: the control plane hears who approved an action,
not only who asked, and the audit row of the execution names the approvers too."""

from __future__ import annotations

import json

from tests.actions_support import (
    FleetUnderTest,
    audit_rows,
    card,
    harness,
    in_thread,
    only_request,
    text_of,
)
from tests.harness import USERS, find_button


async def test_the_fleet_and_the_audit_row_learn_who_approved(db_url: str) -> None:
    async with FleetUnderTest() as fleet, harness(db_url, fleet=fleet.backend()) as h:
        name = "pg-orders"
        await h.command("alice", f"/fleet switchover {name} -- replica is behind")
        preview = await h.wait_for_response("alice")
        await h.click("alice", find_button(preview.blocks, "Confirm"), ephemeral=True)
        approval = await card(h, f"Approval needed: switchover {name}")
        await h.click("bob", find_button(approval.blocks, "Approve"), message_ts=approval.ts)
        result = await in_thread(h, approval, "post-check")
        assert "succeeded" in text_of(result)
        row = await only_request(h)
        assert row.operation_id is not None
        # What the simulator was told over HTTP: X-Actor and X-Approved-By.
        assert fleet.sim.operation(row.operation_id).actor == USERS["alice"]
        assert fleet.sim.approved_by(row.operation_id) == (USERS["bob"],)
        [started] = [r for r in await audit_rows(h, row.id) if r.action == "operation.started"]
        assert json.loads(started.params)["approved_by"] == [USERS["bob"]]
