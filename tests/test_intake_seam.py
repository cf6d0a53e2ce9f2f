"""The seam between intake and the incidents core, end to end: the routes with the page
sink open_bot wires (`bot.incidents.ingest`), on SQLite and PostgreSQL. What bot/intake/
sink.py promises the sender must hold for the real sink: a re-delivery adds nothing, a
replayed PagerDuty X-Webhook-Id adds nothing, and pages are stored when 2xx is answered."""

from __future__ import annotations

import json

from tests.intake_helpers import (
    PD_SECRETS,
    captured,
    intake_app,
    pagerduty_event,
    pagerduty_headers,
)


async def test_runtime_sink_is_wired_and_honours_the_contract(db_url: str) -> None:
    async with intake_app(db_url, runtime_sink=True) as app:
        headers, firing = captured("firing-group")
        first = await app.post("/hooks/alertmanager", firing, headers)
        again = await app.post("/hooks/alertmanager", firing, headers)
        resolved = await app.post("/hooks/alertmanager", captured("resolved-group")[1], headers)

        body = json.dumps(pagerduty_event()).encode()
        signed = pagerduty_headers(body, PD_SECRETS[0], webhook_id="wh-seam-1")
        pd_first = await app.post("/hooks/pagerduty", body, signed)
        pd_replay = await app.post("/hooks/pagerduty", body, signed)
    assert (first.status_code, first.json()) == (200, {"accepted": 2, "new": 2})
    assert again.json() == {"accepted": 2, "new": 0}
    assert resolved.json() == {"accepted": 2, "new": 2}
    assert pd_first.json() == {"accepted": 1, "new": 1}
    assert (pd_replay.status_code, pd_replay.json()) == (200, {"accepted": 1, "new": 0})
