"""User-facing strings of the guarded actions' cards, progress and results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bot.mentions import code, escape, mention_user
from bot.messages.actions import _size, at_utc
from integrations.fleet.models import ParamValue

if TYPE_CHECKING:
    from bot.actions.guard_chain import LockView


def where_card(channel: str, thread_ts: str | None) -> str:
    return f"the incident thread in <#{channel}>" if thread_ts else f"<#{channel}>"


def new_primary(member: str, lag: int | None) -> str:
    return f"{code(member)} (lag {_size(lag)})"


def plan_change(
    member: str | None,
    attribute: str,
    before: str | int | bool | None,
    after: str | int | bool | None,
) -> str:
    who = f"{code(member)} " if member else ""
    return f"• {who}{attribute}: {before if before is not None else '–'} → {after}"


def request_context(request_id: str, reason: str | None, params: str, glass: bool) -> str:
    parts = [f"request {code(request_id)}", f"params {code(params)}"]
    if reason:
        parts.append(f"reason: {reason}")
    if glass:
        parts.append(":rotating_light: break-glass")
    return " · ".join(parts)


def card_waiting(needs: str, expires: datetime | None, requester: str | None = None) -> str:
    who = f"{person(requester)} asks: " if requester else ""
    return f":hourglass: {who}{needs}; open until {at_utc(expires)}."


def person(user: str) -> str:
    """A Slack user as a mention; the bot's own automation (and other actors) by name."""
    return mention_user(user)


def card_running(requester: str, approvers: Sequence[str]) -> str:
    by = f", approved by {', '.join(person(a) for a in approvers)}" if approvers else ""
    return f":gear: Running, requested by {person(requester)}{by}. Progress in the thread."


def card_denied(user: str, reason: str) -> str:
    return f":no_entry: Not run: {reason}"


def approval_recorded(needs: str) -> str:
    return f"Your approval is recorded; the request still {needs}."


def decision_refused(reason: str) -> str:
    return f":no_entry: {reason}"


def deny_too_late(state: str, operation: str | None) -> str:
    stop = f" Use `/fleet cancel {operation}` to stop it." if operation else ""
    return f"Too late to deny: the request is already {state}.{stop}"


def you_denied(action: str, target: str) -> str:
    return f"You denied {code(action)} on {code(target)}; it will not run."


def break_glass_announcement(user: str, action: str, target: str, reason: str | None) -> str:
    return (
        f":rotating_light: *Break-glass*: {person(user)} is running {code(action)} on "
        f"{code(target)} without freeze or approval checks. Reason: {escape(reason or '')}"
    )


def operation_started(op: str, action: str, target: str, seq: int) -> str:
    return (
        f":gear: {code(action)} on {code(target)} started as {code(op)} (audit #{seq}); "
        "follow it in the thread."
    )


def start_failed(action: str, target: str, reason: str) -> str:
    return (
        f":x: {code(action)} on {code(target)} did not start: {reason}. "
        "Nothing changed; the lock is released."
    )


def start_unknown(action: str, target: str, reason: str, lock_until: datetime) -> str:
    return (
        f":grey_question: {code(action)} on {code(target)}: no clear answer from the fleet "
        f"({escape(reason)}). "
        "It may or may not have started; I will look it up on the fleet and report here, and "
        f"will not send it again. {code(target)} stays locked until {at_utc(lock_until)}."
    )


def progress_title(op: str, state: str, action: str, target: str) -> str:
    return f"{code(op)} {action} {target}: *{state}*"


_STEP_ICON = {
    "pending": ":white_circle:",
    "running": ":arrows_counterclockwise:",
    "succeeded": ":white_check_mark:",
    "failed": ":x:",
    "cancelled": ":heavy_minus_sign:",
}


def step_line(name: str, state: str, progress: float) -> str:
    pct = f" {progress:.0%}" if state == "running" else ""
    return f"{_STEP_ICON.get(state, '')} {name}{pct}"


def operation_result(
    op: str,
    action: str,
    target: str,
    state: str,
    error: str | None,
    cancelled_by: str | None,
    checks_passed: bool | None,
) -> str:
    check = {True: "post-check passed", False: "post-check FAILED, look now", None: ""}[
        checks_passed
    ]
    what = f"{code(action)} on {code(target)}"
    if state == "succeeded":
        return f":white_check_mark: {what} succeeded ({code(op)}); {check}."
    if state == "cancelled":
        by = escape(cancelled_by or "someone")
        return f":heavy_minus_sign: {what} cancelled by {by} ({code(op)})."
    return f":x: {what} failed ({code(op)}): {escape(error or 'no reason given')}."


def post_check_lines(checks: Sequence[tuple[str, bool]]) -> str:
    return "*Post-check*\n" + "\n".join(
        f"{':white_check_mark:' if ok else ':x:'} {what}" for what, ok in checks
    )


def audit_refs(seqs: Sequence[int]) -> str:
    return "audit " + ", ".join(f"#{s}" for s in seqs)


def check_health(service: str, health: str) -> str:
    return f"{code(service)} is {health}"


def check_paused(service: str, paused: bool) -> str:
    return f"{code(service)} automation is {'paused' if paused else 'active'}"


def check_version(service: str, version: str) -> str:
    return f"{code(service)} runs version {version}"


def check_fact(attribute: str, after: object) -> str:
    # Both words come from the fleet's plan: shown as code, never as markup.
    return f"{code(attribute)} is {code(str(after))}"


def check_member_missing(member: str) -> str:
    return f"{code(member)} is in the cluster"


def check_role(member: str, role: str) -> str:
    return f"{code(member)} is {role}"


def check_member_healthy(member: str) -> str:
    return f"{code(member)} is back and healthy"


def check_floor(healthy: int, total: int, floor: int) -> str:
    return f"{healthy}/{total} members healthy (floor {floor})"


def check_unreadable(error: str) -> str:
    return f"could not read the service ({error})"


def reconciled_found(op: str, seq: int) -> str:
    return f":mag: Found it on the fleet: {code(op)}. Tracking it now (audit #{seq})."


def operation_resumed(op: str, seq: int) -> str:
    return (
        f":arrows_counterclockwise: The bot restarted while {code(op)} ran. Watching the "
        f"fleet for its outcome; nothing is sent to it again (audit #{seq})."
    )


def reconciled_missing(seq: int) -> str:
    return (
        ":x: The fleet has no record of this operation, so nothing ran; "
        f"the lock is released (audit #{seq})."
    )


def reconcile_unknown(error: str, seq: int) -> str:
    return (
        f":grey_question: I cannot tell whether this ran: {error}. The target stays locked "
        f"until its lease lapses; I keep asking the fleet (audit #{seq})."
    )


def lost_contact(op: str, error: str, lock_until: datetime | None, seq: int) -> str:
    lock = (
        f"the target stays locked until {at_utc(lock_until)} unless I reach the fleet again"
        if lock_until is not None
        else "its lock has already lapsed"
    )
    return (
        f":grey_question: Lost contact with the fleet while {code(op)} was running ({error}). "
        f"I cannot tell how it ends; {lock}. I keep asking (audit #{seq})."
    )


def operation_vanished(op: str, seq: int) -> str:
    return (
        f":x: The fleet no longer knows {code(op)}, which was running when I lost contact: it "
        "may have been partly applied, so check the service. Marked failed; the lock is "
        f"released (audit #{seq})."
    )


def cancel_unknown(ref: str) -> str:
    return f"No request or operation {code(ref)} that I started; see `/fleet ops`."


def cancel_refused(op: str, reason: str) -> str:
    return f"The fleet will not cancel {code(op)}: {reason}"


def cancel_asked(user: str, op: str, seq: int) -> str:
    return f":octagonal_sign: {person(user)} asked the fleet to cancel {code(op)} (audit #{seq})."


def ops_title(target: str | None) -> str:
    return f"Actions{f' on {target}' if target else ''}, newest first"


def ops_empty(target: str | None) -> str:
    return f"No actions{f' on {code(target)}' if target else ''} yet."


def ops_line(
    icon: str,
    request_id: str,
    action: str,
    target: str,
    state: str,
    op: str | None,
    requester: str,
    when: datetime,
) -> str:
    operation = f" · {code(op)}" if op else ""
    who = f"{person(requester)} · {at_utc(when)}"
    return f"{icon} {code(request_id)} {action} {code(target)} *{state}*{operation} · {who}"


def fleet_op_line(op: str, action: str, target: str, state: str, actor: str) -> str:
    # Everything here is the fleet's word, shown as typed.
    started = f"{code(op)} {code(action)} {code(target)} *{escape(state)}*"
    return f":satellite: {started} · by {escape(actor)} (not started here)"


def lock_line(lock: LockView) -> str:
    return (
        f":lock: {code(lock.resource)} by {person(lock.owner_id)} ({code(lock.action)}, request "
        f"{code(lock.request_id)}) since {at_utc(lock.since)}, until {at_utc(lock.expires_at)}"
    )


def approvers_line(mentions: str) -> str:
    """On top of an approval card and of its reminder: who can approve (mentions made by
    bot.mentions from roster and config ids)."""
    return f":bell: Can approve: {mentions}"


def approval_dm(requester: str, action: str, target: str, link: str) -> str:
    # `link` is the card's permalink, filled in by the outbox when it sends this.
    return (
        f"{person(requester)} asks for your approval: {code(action)} on {code(target)}. "
        f"<{link}|Open the approval card>"
    )


def approval_reminder(action: str, target: str, expires: datetime | None) -> str:
    return (
        f":hourglass_flowing_sand: Still waiting for an approval of {code(action)} on "
        f"{code(target)}; it lapses at {at_utc(expires)}."
    )


def approval_lapsed(action: str, target: str) -> str:
    return (
        f":alarm_clock: Nobody approved {code(action)} on {code(target)} in time: the request "
        "expired and its lock is released. Run the command again if it is still needed."
    )


def fleet_at_end(when: str, state: str) -> str:
    """On a finished action's card: the service as read when it ended (`state` rendered
    by bot.fleet.snapshot, its outside words escaped)."""
    return f"*Fleet at the end* · {when} — {state}"


ROLLBACK_BUTTON = "Start the rollback request"


def rollback_offer(action: str, target: str, params: Mapping[str, ParamValue]) -> str:
    words = " ".join(f"{k}={v}" for k, v in sorted(params.items()))
    request = code(" ".join(w for w in (action, target, words) if w))
    return (
        f":leftwards_arrow_with_hook: The post-check failed. To undo it: {request}. The button "
        "starts that request as yours: its preview, then the same guards and approvals."
    )


def rollback_reason(request_id: str, action: str) -> str:
    return f"rollback of {action} request {request_id}: its post-check failed"
