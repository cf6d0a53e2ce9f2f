"""What campaigns say (docs/campaigns.md). Outside strings (selectors, service names,
reasons from the fleet) are escaped here; mentions come from user ids only."""

from __future__ import annotations

from collections.abc import Mapping

from bot.mentions import code, escape, mention_user, mentions

CAMPAIGN_BUTTONS = {
    "approve": "Approve",
    "deny": "Deny",
    "pause": "Pause",
    "resume": "Resume",
    "abort": "Abort",
}
CAMPAIGN_USAGE = (
    "campaign <action> <selector> [concurrency=50|5%] [max_errors=10|1%] "
    "[waves=1,1%,10%,100%] [bake=5m] [-- reason]  ·  campaign list|status|pause|resume|abort <id>"
)
CAMPAIGNS_DISABLED = "Campaigns are turned off here (`campaigns.enabled` in app.yaml)."
CAMPAIGN_SELF_APPROVAL = "You cannot approve (or deny) your own campaign; another person must."
CAMPAIGN_NONE = "No campaigns yet."
BAR_WIDTH = 20


def campaign_unknown_action(action: str, known: list[str]) -> str:
    return f"{code(action)} cannot run as a campaign; these can: {', '.join(known)}."


def campaign_bad_rate(why: str) -> str:
    return f"I could not read the rate controls: {escape(why)}."


def campaign_not_permitted(what: str, roles: list[str]) -> str:
    who = ", ".join(roles) or "nobody (campaigns: lists no role)"
    return f"You may not {what} a campaign; that needs one of these roles: {escape(who)}."


def campaign_too_many(count: int, cap: int) -> str:
    return (
        f"That selector names {count:,} services, more than the {cap:,} a campaign may have "
        "(campaigns.max_targets); narrow it."
    )


def campaign_nothing_to_run(count: int) -> str:
    return f"{count:,} services match, but every one of them is left out; nothing to run."


def campaign_unknown(campaign_id: str) -> str:
    return f"No campaign {code(campaign_id)}; `/fleet campaign list` shows them."


def campaign_planned(campaign_id: str, roles: list[str], count: int) -> str:
    return (
        f"Campaign {code(campaign_id)} planned over {count:,} targets; its card is in the "
        f"channel and waits for another person's approval ({escape(', '.join(roles))})."
    )


def campaign_replanned(before: int, after: int) -> str:
    return (
        f"The fleet changed since the preview ({before:,} → {after:,} matching services, "
        "another target list): the card shows the new preview and every approval must be "
        "given again."
    )


def campaign_needs_more(good: int, needed: int) -> str:
    return f"Approval recorded ({good} of {needed}); the campaign starts once all are given."


def campaign_state_is(campaign_id: str, state: str) -> str:
    return f"Campaign {code(campaign_id)} is {escape(state)}; nothing to do."


def campaign_expired(campaign_id: str) -> str:
    return f"Campaign {code(campaign_id)}'s approval window has passed; plan it again."


def campaign_decided(campaign_id: str, decision: str, audit_seq: int) -> str:
    return f"Campaign {code(campaign_id)}: you {decision} it (audit #{audit_seq})."


def campaign_steered(campaign_id: str, verb: str, user: str, audit_seq: int) -> str:
    return f"Campaign {code(campaign_id)} {verb} by {mention_user(user)} (audit #{audit_seq})."


def campaign_halted_ping(owner: str, others: list[str], why: str) -> str:
    people = mentions([owner, *[o for o in others if o != owner]])
    return (
        f":octagonal_sign: {people} the campaign halted: {escape(why)}. Running targets "
        "finish; no new one starts. Resume it with its Resume button or "
        "`/fleet campaign resume <id>` once it is understood (docs/campaigns.md)."
    )


def halt_max_errors(failed: int, max_errors: int) -> str:
    return f"{failed:,} targets failed, more than max_errors={max_errors:,}"


def halt_pages(count: int, services: list[str]) -> str:
    shown = ", ".join(code(s) for s in services[:5])
    more = f" and {len(services) - 5} more" if len(services) > 5 else ""
    return f"{count:,} new pages for its targets during the wave or its bake ({shown}{more})"


HALT_KILL_SWITCH = "automation's kill switch is on (`/fleet automation resume` turns it off)"


def failures_by_reason(title: str, groups: Mapping[str, list[str]]) -> str:
    lines = [f"*{escape(title)}*"]
    for reason, names in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        shown = ", ".join(code(n) for n in names[:10])
        more = f" and {len(names) - 10:,} more" if len(names) > 10 else ""
        lines.append(f"• {escape(reason)} — {len(names):,}: {shown}{more}")
    return "\n".join(lines)


def progress_bar(done: int, failed: int, total: int) -> str:
    if total <= 0:
        return "`" + "░" * BAR_WIDTH + "`"
    filled = round(BAR_WIDTH * done / total)
    bad = min(BAR_WIDTH - filled, round(BAR_WIDTH * failed / total))
    if failed and not bad:
        bad = 1 if filled < BAR_WIDTH else 0
    return "`" + "█" * filled + "▓" * bad + "░" * (BAR_WIDTH - filled - bad) + "`"


def duration_text(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def campaign_list_line(
    cid: str, action: str, selector: str, state: str, ended: int, total: int
) -> str:
    return (
        f"• {code(cid)} `{escape(action)}` on {code(selector)}: {escape(state)}, "
        f"{ended:,}/{total:,} ended"
    )


HANDOFF_CAMPAIGNS = "Campaigns"
