"""User-facing strings of guarded actions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bot.mentions import code, escape, mention_user

if TYPE_CHECKING:
    from bot.actions.guard_chain import LockView


# Guarded actions (`/fleet <action>`, cards, buttons; bot/actions).

ACTION_BUTTONS = {"confirm": "Confirm", "cancel": "Cancel", "approve": "Approve", "deny": "Deny"}
ACTION_LABELS = {
    "risk": "Risk",
    "eta": "Estimated time",
    "primary": "New primary",
    "impact": "Impact",
    "changes": "What will change",
    "steps": "Steps",
}
ACTION_AUDIT_MISSING = (
    "Actions are disabled: the audit key is not configured (`audit.key`), and an action "
    "nobody can account for does not run."
)
ACTION_PARAMS_CHANGED = "The request's parameters changed after it was made; run the command again."
ACTION_INCIDENT_UNCHECKABLE = (
    "This action needs incident membership, which I cannot check yet; ask an admin."
)
ACTION_NOT_IN_INCIDENT = "This action is for people in the incident; join it first."
ACTION_PLAN_CHANGED = (
    "The fleet's plan changed since the preview (another member would be affected); "
    "run the command again to see the new plan."
)
ACTION_SELF_APPROVAL = "You cannot approve (or deny) your own request; another person must."
ACTION_NEEDS_CONFIRMATION = "needs your confirmation"
ACTION_APPROVAL_EXPIRED = "The approval window expired; run the command again."
ACTION_REQUEST_EXPIRED = (
    "Nobody confirmed or approved it in time; it lapsed and its lock is released."
)
ACTION_KEY_REUSED = "This request id was already used with other parameters; run the command again."
ACTION_TRY_AGAIN = "That request is being set up elsewhere; try again in a moment."
ALREADY_DECIDED = "You already decided on this request; one decision per person."
BREAK_GLASS_NEEDS_REASON = "Break-glass needs a reason: add `-- why` at the end of the command."
ONLY_REQUESTER_CONFIRMS = "Only the person who asked can confirm this request."
ONLY_REQUESTER_CANCELS = "Only the person who asked can cancel this request."
STARTING = ":hourglass_flowing_sand: Starting…"
RECONCILED_MISSING = "the fleet has no record of the operation, so nothing ran"
OPERATION_VANISHED = "the fleet lost the operation while it ran; it may be partly applied"
LOCKS_TITLE = "Locked services"
LOCKS_EMPTY = "No service is locked by an action."


def at_utc(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC") if when is not None else "?"


def _roles(roles: Sequence[str]) -> str:
    return " or ".join(f"*{r}*" for r in roles) or "nobody (no role is configured)"


def _size(n: int | None) -> str:
    if n is None:
        return "–"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}"
        value /= 1024
    return f"{value:.0f} TiB"


def action_unknown(action: str) -> str:
    return f"{code(action)} is not an action I know."


def action_no_policy(action: str, target: str) -> str:
    return (
        f"No policy allows {code(action)} on {code(target)}, so it is refused. "
        "Ask an admin to add one."
    )


def action_not_permitted(user: str, action: str, roles: Sequence[str]) -> str:
    return (
        f"{mention_user(user)} may not run {code(action)} here; it needs the role {_roles(roles)}."
    )


def break_glass_not_permitted(roles: Sequence[str]) -> str:
    return f"Break-glass here is for {_roles(roles)}."


def action_needs_oncall(role: str) -> str:
    return f"This action is for whoever is on call (role *{role}*)."


def freeze_skipped(name: str) -> str:
    return f"change freeze '{name}' skipped by break-glass"


def action_frozen(name: str) -> str:
    return f"Change freeze '{name}' is on. Use break-glass with a reason if this cannot wait."


def action_rate_limited(per: str, what: str, limit: int, minutes: float) -> str:
    return f"Rate limit: at most {limit} executions per {per} ({code(what)}) in {minutes:g} min."


def action_concurrency(running: int, cap: int) -> str:
    return f"{running} operations are running fleet-wide (cap {cap}); try when one finishes."


def action_locked(target: str, lock: LockView) -> str:
    return (
        f"{code(target)} is locked by {mention_user(lock.owner_id)} ({code(lock.action)}, request "
        f"{code(lock.request_id)}) since {at_utc(lock.since)}, until {at_utc(lock.expires_at)}."
    )


def action_no_plan(error: str | None) -> str:
    return f"The fleet could not draw a plan ({error or 'no answer'}); nothing was changed."


def action_plan_refused(reason: str | None) -> str:
    return f"The fleet refuses this plan: {reason or 'no reason given'}."


def action_capacity(service: str, healthy: int, loss: int, floor: int) -> str:
    return (
        f"Capacity floor: {code(service)} has {healthy} healthy members; this takes {loss} away "
        f"and the policy keeps at least {floor}."
    )


def action_not_approver(roles: Sequence[str]) -> str:
    return f"Approving this needs the role {_roles(roles)}."


def action_vetoed(user: str) -> str:
    return f"Denied by {mention_user(user)}."


def action_needs_approval(have: int, need: int, roles: Sequence[str]) -> str:
    return f"needs approval by {_roles(roles)} ({have}/{need})"


def action_denied(action: str, target: str, reason: str, seq: int) -> str:
    return f":no_entry: {code(action)} on {code(target)} refused: {reason} (audit #{seq})"


def action_already(request_id: str, state: str) -> str:
    return f"Request {code(request_id)} is already {state}; nothing more to do with that."


def action_cancelled(action: str, target: str) -> str:
    return f"Cancelled: {code(action)} on {code(target)} will not run."


def cancelled_by(user: str) -> str:
    return f"Cancelled by {mention_user(user)}."


def preview_title(action: str, target: str) -> str:
    return f"Preview: {action} {target}"


def approval_title(action: str, target: str) -> str:
    return f"Approval needed: {action} {target}"


def announcement_title(action: str, target: str, break_glass: bool) -> str:
    return f"{'BREAK-GLASS ' if break_glass else ''}{action} {target}"


def preview_note(risk: str, approvals: int, roles: Sequence[str]) -> str:
    then = f", then approval by {_roles(roles)}" if approvals else ""
    return f"Risk *{risk}*. Check the plan, then *Confirm*{then}. Nothing has changed yet."


def approval_requested_note(roles: Sequence[str], where: str) -> str:
    return f"Approval by {_roles(roles)} requested in {where}. Nothing has changed yet."


def confirmed_awaiting_approval(roles: Sequence[str], where: str) -> str:
    return f"Confirmed. Waiting for approval by {_roles(roles)} in {where}."


def consent_not_covered(wanted: str) -> str:
    return f"the approval given for the whole does not cover this target ({escape(wanted)})"


def post_check_failed(checks: Sequence[str]) -> str:
    return "post-check failed: " + ", ".join(escape(c) for c in checks)
