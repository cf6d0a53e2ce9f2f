"""The App Home view, from `HomeFacts` (pure)."""

from __future__ import annotations

from typing import Any

from bot import block_kit, messages
from bot.actions import action_blocks
from bot.block_kit import Block, slack_date
from bot.home.content import HomeFacts
from bot.incidents.incident_blocks import SEVERITY_ICON, headline
from bot.mentions import code, escape, mention_user
from bot.oncall.roster import is_slack_user
from bot.outbox import Message

# Slack's limit for a Home tab; the sections are bounded well below it.
MAX_BLOCKS = 100


def _person(person: str | None) -> str:
    if person is None:
        return "unknown (schedule not answering)"
    return mention_user(person) if is_slack_user(person) else escape(person)


def _duties(facts: HomeFacts) -> list[Block]:
    if not facts.duties:
        return [block_kit.context(messages.HOME_NO_ROTATIONS)]
    lines = [
        f"*{escape(d.rotation)}*: {_person(d.person)}"
        + (f" until {slack_date(d.until)}" if d.until else "")
        for d in facts.duties
    ]
    return [block_kit.section(block_kit.clip("\n".join(lines)))]


def _incidents(facts: HomeFacts) -> list[Block]:
    if not facts.incidents:
        return [block_kit.context(messages.HOME_NO_INCIDENTS)]
    lines = [
        f"{SEVERITY_ICON.get(i.severity, '')} *#{i.id}* {headline(i)} · in <#{i.channel}>"
        for i in facts.incidents
    ]
    return [block_kit.section(block_kit.clip("\n".join(lines)))]


def _approvals(facts: HomeFacts) -> list[Block]:
    if not facts.approvals:
        return [block_kit.context(messages.HOME_NO_APPROVALS)]
    out: list[Block] = []
    for row in facts.approvals:
        what = (
            f"*{escape(row.action)}* {code(row.target)} asked by {mention_user(row.requester_id)}"
            + (f": {escape(row.reason)}" if row.reason else "")
            + (f" · expires {slack_date(row.expires_at)}" if row.expires_at else "")
        )
        out.append(block_kit.section(block_kit.clip(what)))
        out.append(
            {
                "type": "actions",
                "block_id": f"approval:{row.id}",
                "elements": [
                    action_blocks.button("approve", row.id, "primary"),
                    action_blocks.button("deny", row.id, "danger"),
                ],
            }
        )
    return out


def _automation(facts: HomeFacts) -> list[Block]:
    state = facts.automation
    line = ":double_vertical_bar: paused" if state.paused else ":arrow_forward: running"
    if state.paused and state.changed_by:
        line += f" by {mention_user(state.changed_by)}"
    runs = [
        f"{code(r.runbook)} on {code(r.service)}: {escape(r.state)} ({slack_date(r.decided_at)})"
        for r in facts.runs
    ]
    return [block_kit.section(block_kit.clip("\n".join([line, *runs])))]


def _handoffs(facts: HomeFacts) -> list[Block]:
    if not facts.handoffs:
        return [block_kit.context(messages.HOME_NO_HANDOFFS)]
    lines = []
    for h in facts.handoffs:
        label = f"{escape(h.rotation)} → {_person(h.incoming)}, {slack_date(h.posted_at)}"
        lines.append(f"<{h.link}|{escape(h.rotation)} summary>: {label}" if h.link else label)
    return [block_kit.section(block_kit.clip("\n".join(lines)))]


def home_view(facts: HomeFacts, notice: Message | None = None) -> dict[str, Any]:
    blocks: list[Block] = []
    if notice is not None:
        blocks.append(block_kit.section(block_kit.clip(notice.text)))
        blocks.append({"type": "divider"})
    for title, part in (
        (messages.HOME_ONCALL, _duties),
        (messages.HOME_MY_INCIDENTS, _incidents),
        (messages.HOME_APPROVALS, _approvals),
        (messages.HOME_AUTOMATION, _automation),
        (messages.HOME_HANDOFFS, _handoffs),
    ):
        blocks.append(block_kit.header(title))
        blocks.extend(part(facts))
    blocks.append(block_kit.context(messages.home_updated(slack_date(facts.now))))
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}
