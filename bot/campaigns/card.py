"""The campaign card: one message in the channel, edited as the campaign moves (preview,
approval, progress bar, halts), with the buttons its state allows."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot import block_kit
from bot import messages as m
from bot.campaigns.models import Campaign, CampaignState
from bot.campaigns.store import CardFacts
from bot.mentions import code, escape, mention_user
from bot.outbox import Message

S = CampaignState
# Button action ids: `campaign-<kind>:<campaign id>`.
BUTTON_PREFIX = {kind: f"campaign-{kind}" for kind in m.CAMPAIGN_BUTTONS}
BUTTONS_FOR: dict[str, tuple[str, ...]] = {
    S.PLANNED: ("approve", "deny"),
    S.RUNNING: ("pause", "abort"),
    S.PAUSED: ("resume", "abort"),
    S.HALTED: ("resume", "abort"),
}


def button(kind: str, campaign_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": m.CAMPAIGN_BUTTONS[kind]},
        "action_id": f"{BUTTON_PREFIX[kind]}:{campaign_id}",
        "value": campaign_id,
    }
    if kind in ("approve", "resume"):
        out["style"] = "primary"
    elif kind in ("deny", "abort"):
        out["style"] = "danger"
    return out


def _wave_line(c: Campaign) -> str:
    ends = json.loads(c.wave_ends)
    starts = [0, *ends[:-1]]
    sizes = [e - s for s, e in zip(starts, ends, strict=True)]
    shown = " → ".join(
        f"*{n:,}*" if i == c.wave and c.state != S.PLANNED else f"{n:,}"
        for i, n in enumerate(sizes)
    )
    return f"Waves: {shown} (bake {m.duration_text(c.bake_seconds)} between waves)"


def _state_line(c: Campaign, now: datetime) -> str:
    waves = len(json.loads(c.wave_ends))
    if c.state == S.PLANNED:
        return f":clipboard: *Planned* by {mention_user(c.owner_id)}: waiting for approval"
    if c.state == S.RUNNING:
        baking = c.bake_until is not None and now < c.bake_until
        what = (
            f"baking until {block_kit.slack_date(c.bake_until)}"
            if baking and c.bake_until
            else "running"
        )
        return f":arrows_counterclockwise: *Wave {c.wave + 1} of {waves}*, {what}"
    if c.state == S.PAUSED:
        return f":double_vertical_bar: *Paused* in wave {c.wave + 1} of {waves}"
    if c.state == S.HALTED:
        return (
            f":octagonal_sign: *Halted* in wave {c.wave + 1} of {waves}: {escape(c.detail or '')}"
        )
    if c.state == S.FINISHED:
        return ":white_check_mark: *Finished*"
    return f"*{escape(c.state.capitalize())}*: {escape(c.detail or '')}"


def _eta(c: Campaign, facts: CardFacts) -> str | None:
    n = facts.counts
    if c.state not in (S.RUNNING, S.PLANNED) or not c.estimate_seconds or not n.total:
        return None
    if c.state == S.PLANNED:
        return f"Estimated duration: about {m.duration_text(c.estimate_seconds)}"
    left = (n.pending + n.running) / n.total
    return f"ETA: about {m.duration_text(c.estimate_seconds * left)}"


def render(c: Campaign, facts: CardFacts, now: datetime) -> Message:
    n = facts.counts
    title = f"Campaign {c.id}: {escape(c.action)} on {escape(c.selector)}"
    lines = [
        f"*Campaign {code(c.id)}*: `{escape(c.action)}` on {code(c.selector)}",
        _state_line(c, now),
        f"{m.progress_bar(n.succeeded, n.failed + n.refused, n.total)} "
        f"done {n.succeeded:,} · running {n.running:,} · failed {n.failed:,} · "
        f"refused {n.refused:,} · skipped {n.skipped:,} · left {n.pending:,}",
    ]
    eta = _eta(c, facts)
    if eta:
        lines.append(eta)
    rate = json.loads(c.rate)
    lines.append(
        f"Rate: concurrency {c.concurrency:,} (typed {escape(rate['concurrency'])}, ramping "
        f"1, 2, 4, …) · max_errors {c.max_errors:,} (typed {escape(rate['max_errors'])})"
    )
    lines.append(_wave_line(c))
    if facts.skipped_by_reason:
        lines.append(
            "Left out: "
            + "; ".join(f"{escape(r)} {k:,}" for r, k in sorted(facts.skipped_by_reason.items()))
        )
    if facts.by_region:
        regions = sorted(facts.by_region.items(), key=lambda kv: (-kv[1], kv[0]))
        lines.append(
            "Blast radius by region (targets, at most in flight): "
            + ", ".join(f"{escape(r)} {k:,} ({min(k, c.concurrency):,})" for r, k in regions)
        )
    approved = json.loads(c.approved_by or "[]")
    if approved:
        lines.append("Approved by " + ", ".join(mention_user(u) for u in approved))
    text = "\n".join(lines)
    blocks: list[dict[str, Any]] = [block_kit.section(block_kit.clip(text))]
    kinds = BUTTONS_FOR.get(c.state, ())
    if kinds:
        blocks.append({"type": "actions", "elements": [button(k, c.id) for k in kinds]})
    return Message(text=title, blocks=blocks)
