"""What automation says and records, inside the transaction of its decision: the reply in
the incident thread (always with the kill switch's state), the audit row, and, when a
person is needed, the escalation: the route's on-call mentioned and PagerDuty triggered.

PagerDuty is called after the commit (`bot.incidents.followup.kick_pagerduty`); here the
incident is only marked `pagerduty_state = "trigger"`, as the escalation sweep does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot import block_kit
from bot import messages as m
from bot.audit import vocabulary as v
from bot.audit.actors import AUTOMATION
from bot.automation.models import AutomationRun
from bot.automation.store import SwitchState
from bot.incidents import clients
from bot.incidents.incident_blocks import paging_block
from bot.incidents.models import Incident
from bot.incidents.opening import Mentions
from bot.incidents.routing import destination_named
from bot.incidents.thread import ThreadWriter, audit_target
from bot.outbox import Message


def switch_line(state: SwitchState) -> str:
    return m.automation_switch_line(state.paused, state.changed_by, state.changed_at)


def suggestion_button(incident_id: int, action: str, params: dict[str, str]) -> dict[str, Any]:
    """The same button the incident root offers for `suggested_actions`: a click goes into
    the guarded flow as the clicker (commands.incident)."""
    value = {"incident": incident_id, "action": action, "params": params}
    label = " ".join([action.title(), *params.values()])
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": block_kit.clip(label, 75)},
        "action_id": "incident:act:automation",
        "value": json.dumps(value, sort_keys=True),
    }


@dataclass
class Report:
    """One decision's words and records, in the caller's transaction."""

    w: ThreadWriter
    incident: Incident
    switch: SwitchState
    # PagerDuty was marked to trigger: the caller kicks delivery after the commit.
    pagerduty: bool = False

    def say(self, text: str, button: dict[str, Any] | None = None, *, paging: str = "") -> None:
        out = [block_kit.section(text)]
        if paging:
            out.insert(0, paging_block(paging))
        if button is not None:
            out.append({"type": "actions", "elements": [button]})
        line = switch_line(self.switch)
        out.append(block_kit.context(line))
        self.w.reply(self.incident, Message(text=f"{text}\n{line}", blocks=out))

    async def record(self, run: AutomationRun, outcome: str, **extra: Any) -> int | None:
        return await self.w.audit(
            actor=AUTOMATION, action=v.AUTOMATION_DECIDED, target=run.service,
            outcome=outcome, ref=self.incident.ref,
            params={"runbook": run.runbook, "page": run.page_id, "action": run.action,
                    "params": json.loads(run.params), "mode": run.mode, "state": run.state,
                    "detail": run.detail, "request": run.request_id,
                    "paused": self.switch.paused, **extra},
        )  # fmt: skip

    async def escalate(self, why: str) -> None:
        """A person is needed: the route's people and on-call mentioned, PagerDuty paged."""
        rt, incident = self.w.rt, self.incident
        destination = destination_named(rt.config, incident.route)
        who = await Mentions(rt, self.w.session, rt.clock()).text(destination) or incident.mentions
        # An incident automation took on opened mentioning no one; from here it is people's.
        incident.mentions = incident.mentions or who
        self.say(m.automation_escalated(who, why), paging=who)
        wants_page = rt.config.automation.pagerduty and clients.pagerduty(rt) is not None
        if wants_page and incident.pagerduty_state is None:
            incident.pagerduty_state = "trigger"
            self.pagerduty = True
        await self.w.audit(
            actor=AUTOMATION, action=v.INCIDENT_ESCALATED, target=audit_target(incident),
            outcome=v.ESCALATED, ref=incident.ref,
            params={"by": "automation", "why": why, "pagerduty": self.pagerduty},
        )  # fmt: skip
