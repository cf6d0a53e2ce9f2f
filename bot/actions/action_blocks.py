"""Block Kit of the action flow: preview, approval and announcement cards, progress, result,
and the `/fleet ops` and `/fleet locks` lists. Words come from `bot.messages`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot import block_kit as b
from bot import messages as m
from bot.actions.guard_chain import LockView
from bot.actions.lifecycle import RequestState
from bot.actions.models import ActionRequest
from bot.outbox import Message
from integrations.fleet.models import Operation, Plan

BUTTONS = {
    "confirm": "act-confirm",
    "cancel": "act-cancel",
    "approve": "act-approve",
    "deny": "act-deny",
}
STATE_ICON: dict[RequestState, str] = {
    RequestState.REQUESTED: ":hourglass:",
    RequestState.PREVIEWED: ":eyes:",
    RequestState.CONFIRMED: ":hourglass:",
    RequestState.APPROVED: ":white_check_mark:",
    RequestState.EXECUTING: ":gear:",
    RequestState.SUCCEEDED: ":white_check_mark:",
    RequestState.FAILED: ":x:",
    RequestState.UNKNOWN: ":grey_question:",
    RequestState.DENIED: ":no_entry:",
    RequestState.CANCELLED: ":heavy_minus_sign:",
    RequestState.EXPIRED: ":alarm_clock:",
}


@dataclass(frozen=True)
class Preview:
    """What the requester saw: the fleet's plan and the lag of the members it touches."""

    plan: Plan
    lag: dict[str, int | None] = field(default_factory=dict)

    def dump(self) -> str:
        return json.dumps({"plan": self.plan.model_dump(mode="json"), "lag": self.lag})

    @classmethod
    def load(cls, text: str | None) -> Preview | None:
        if not text:
            return None
        raw = json.loads(text)
        return cls(Plan.model_validate(raw["plan"]), raw.get("lag") or {})

    @property
    def new_primary(self) -> str | None:
        return next(
            (c.member for c in self.plan.changes if c.attribute == "role" and c.after == "primary"),
            None,
        )


def button(kind: str, request_id: str, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": m.ACTION_BUTTONS[kind]},
        "action_id": f"{BUTTONS[kind]}:{request_id}",
        # The request id only: what runs is bound server-side, never taken from a click.
        "value": request_id,
    }
    if style:
        element["style"] = style
    return element


def _plan_blocks(row: ActionRequest, preview: Preview | None) -> list[b.Block]:
    if preview is None:
        return []
    plan = preview.plan
    changes = [m.plan_change(c.member, c.attribute, c.before, c.after) for c in plan.changes]
    out: list[b.Block] = []
    facts = [
        (m.ACTION_LABELS["risk"], row.risk),
        (m.ACTION_LABELS["eta"], f"{plan.estimated_seconds:g} s"),
    ]
    primary = preview.new_primary
    if primary:
        facts.append((m.ACTION_LABELS["primary"], m.new_primary(primary, preview.lag.get(primary))))
    if plan.impact:
        facts.append((m.ACTION_LABELS["impact"], plan.impact))
    out.append(b.fields(facts))
    if changes:
        out.append(b.section(f"*{m.ACTION_LABELS['changes']}*\n" + "\n".join(changes)))
    if plan.steps:
        steps = "\n".join(f"{i}. {s}" for i, s in enumerate(plan.steps, 1))
        out.append(b.section(f"*{m.ACTION_LABELS['steps']}*\n{steps}"))
    if plan.warnings:
        out.append(b.section("\n".join(f":warning: {w}" for w in plan.warnings)))
    return out


def _context(row: ActionRequest) -> b.Block:
    return b.context(m.request_context(row.id, row.reason, row.params, row.break_glass))


def preview_card(row: ActionRequest, preview: Preview, *, note: str, buttons: bool) -> Message:
    title = m.preview_title(row.action, row.target)
    body = [b.header(title), b.section(note), *_plan_blocks(row, preview), _context(row)]
    if buttons:
        body.append(
            {
                "type": "actions",
                "elements": [
                    button("confirm", row.id, "primary"),
                    button("cancel", row.id, "danger"),
                ],
            }
        )
    return Message(text=title, blocks=body)


def approval_card(
    row: ActionRequest, preview: Preview | None, *, status: str, open_: bool, approvers: str = ""
) -> Message:
    # Once decided, the card stops asking: it names the action, like an announcement.
    title = (
        m.approval_title(row.action, row.target)
        if open_
        else m.announcement_title(row.action, row.target, row.break_glass)
    )
    body = [b.header(title), b.section(status), *_plan_blocks(row, preview), _context(row)]
    if open_ and approvers:
        # Who can approve, on top where Slack shows it: posting the card pings them.
        body.insert(0, b.context(m.approvers_line(approvers)))
    if open_:
        body.append(
            {
                "type": "actions",
                "elements": [
                    button("approve", row.id, "primary"),
                    button("deny", row.id, "danger"),
                ],
            }
        )
    return Message(text=f"{title}: {status}", blocks=body)


def announcement_card(row: ActionRequest, preview: Preview | None, *, status: str) -> Message:
    title = m.announcement_title(row.action, row.target, row.break_glass)
    body = [b.header(title), b.section(status), *_plan_blocks(row, preview), _context(row)]
    return Message(text=f"{title}: {status}", blocks=body)


def card(row: ActionRequest, status: str, *, open_: bool = False, approvers: str = "") -> Message:
    """The public card of a request in its current state; an open approval card names
    `approvers` (mentions made by bot.actions.approvers)."""
    preview = Preview.load(row.plan)
    if row.approvals_required:
        return approval_card(row, preview, status=status, open_=open_, approvers=approvers)
    return announcement_card(row, preview, status=status)


def progress(row: ActionRequest, op: Operation) -> Message:
    lines = [m.step_line(s.name, s.state, s.progress) for s in op.steps]
    text = m.progress_title(op.id, op.state, row.action, row.target)
    return Message(text=text, blocks=[b.section(text), b.section("\n".join(lines) or "–")])


def result(
    text: str,
    checks: Sequence[tuple[str, bool]],
    seqs: Sequence[int],
    rollback: tuple[str, dict[str, Any]] | None = None,
) -> Message:
    """The result in the thread; `rollback` is the offer (text, button) after a failed
    post-check (bot/actions/rollback.py)."""
    body = [b.section(text)]
    if checks:
        body.append(b.section(m.post_check_lines(checks)))
    if rollback is not None:
        offer_text, offer_button = rollback
        body.append(b.section(offer_text))
        body.append({"type": "actions", "elements": [offer_button]})
        text = f"{text}\n{offer_text}"
    body.append(b.context(m.audit_refs(seqs)))
    return Message(text=text, blocks=body)


def ops_list(
    rows: Sequence[ActionRequest], fleet_ops: Sequence[Operation], target: str | None
) -> Message:
    title = m.ops_title(target)
    lines = [
        m.ops_line(
            STATE_ICON.get(r.state, ""),
            r.id,
            r.action,
            r.target,
            r.state,
            r.operation_id,
            r.requester_id,
            r.created_at,
        )
        for r in rows
    ]
    ours = {r.operation_id for r in rows}
    lines += [
        m.fleet_op_line(o.id, o.action, o.target, o.state, o.actor)
        for o in fleet_ops
        if o.id not in ours
    ]
    if not lines:
        return Message(text=m.ops_empty(target))
    return Message(text=title, blocks=[b.header(title), b.section("\n".join(lines[:40]))])


def locks_list(locks: Sequence[LockView]) -> Message:
    if not locks:
        return Message(text=m.LOCKS_EMPTY)
    lines = [m.lock_line(lk) for lk in locks]
    return Message(
        text=m.LOCKS_TITLE, blocks=[b.header(m.LOCKS_TITLE), b.section("\n".join(lines))]
    )
