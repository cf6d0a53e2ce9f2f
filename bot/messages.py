"""Every user-facing string of the bot, in one place (wording, tone, and links)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.actions.chain import LockView

APP = "Watchkeeper"


def unknown_subcommand(command: str, word: str, suggestion: str | None) -> str:
    hint = f" Did you mean `{command} {suggestion}`?" if suggestion else ""
    return f"`{command} {word}` is not a command I know.{hint} Try `{command} help`."


def unknown_service(name: str, suggestion: str | None) -> str:
    hint = f"; did you mean `{suggestion}`?" if suggestion else "."
    return f"No service named `{name}`{hint}"


def unbalanced_quotes(detail: str) -> str:
    return f"I could not read that command ({detail}); check the quotes."


def usage(command: str, usage_text: str) -> str:
    return f"Usage: `{command} {usage_text}`"


def fleet_unavailable(backend_detail: str) -> str:
    return (
        f"The fleet API is not answering ({backend_detail}). Nothing was changed; "
        "try again in a minute, or check the control plane's status page."
    )


def fleet_rejected(detail: str) -> str:
    return f"The fleet API refused the request: {detail}"


def internal_error(reference: str) -> str:
    return f"Something went wrong on my side (ref `{reference}`); it is in my logs."


STALE_BUTTON = "That button no longer does anything; run the command again."
MENTION_HELP = "Mention me in an incident thread with a command, e.g. `@watchkeeper ack`."

HELP_FOOTER = "Arguments in [brackets] are optional. Add `-- reason` to say why."
EMPTY_FLEET = "No services are configured in any fleet backend."


# The audit log (`/audit`, checkpoints).


def audit_checkpoint(seq: int, chain_hash: str, line: str) -> str:
    return f":lock: Audit checkpoint: row {seq}, hash `{chain_hash[:16]}…`\n`{line}`"


def audit_recent_title(filter_text: str | None) -> str:
    return f"Audit log — latest entries{f' for {filter_text}' if filter_text else ''}"


def audit_recent_empty(filter_text: str | None) -> str:
    return f"No audit entries{f' for {filter_text}' if filter_text else ''}."


def audit_recent_older(command: str) -> str:
    return f"Older entries: `{command}`"


def audit_verify_denied(command: str) -> str:
    return f"`{command} verify` is for people with the *auditor* role; ask an admin to add you."


def audit_verify_intact(rows: int, rate: float, checkpoints: int) -> str:
    cps = f"; {checkpoints} checkpoint(s) match" if checkpoints else ""
    return (
        f":white_check_mark: Audit chain intact: {rows:,} rows checked ({rate:,.0f} rows/s){cps}."
    )


def audit_verify_broken(rows: int, problem: str) -> str:
    return (
        f":rotating_light: Audit chain BROKEN after {rows:,} good rows — {problem}. "
        "Keep the database as it is and tell security; `watchkeeper audit verify` shows the same."
    )


def audit_key_missing() -> str:
    return "The audit key is not configured (`audit.key` in app.yaml), so I cannot check the chain."


# On-call rotations (`/oncall`).

NO_ROTATIONS = "No on-call rotations are configured (`oncall.rotations` in app.yaml)."
BAD_UNTIL = (
    "Give the end as a duration (`4h`, `90m`, `2d`) or a time with offset "
    "(`2026-12-24T09:00+01:00`), at most 31 days ahead."
)


def which_rotation(names: str) -> str:
    return f"Which rotation? One of {names}."


def not_in_rotation(rotation: str) -> str:
    return f"Only members of `{rotation}` can change who is on call for it."


def override_set(rotation: str, user: str, until: str) -> str:
    return f"<@{user}> is on call for `{rotation}` until {until}."


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
    return f"`{action}` is not an action I know."


def action_no_policy(action: str, target: str) -> str:
    return f"No policy allows `{action}` on `{target}`, so it is refused. Ask an admin to add one."


def action_not_permitted(user: str, action: str, roles: Sequence[str]) -> str:
    return f"<@{user}> may not run `{action}` here; it needs the role {_roles(roles)}."


def break_glass_not_permitted(roles: Sequence[str]) -> str:
    return f"Break-glass here is for {_roles(roles)}."


def action_needs_oncall(role: str) -> str:
    return f"This action is for whoever is on call (role *{role}*)."


def freeze_skipped(name: str) -> str:
    return f"change freeze '{name}' skipped by break-glass"


def action_frozen(name: str) -> str:
    return f"Change freeze '{name}' is on. Use break-glass with a reason if this cannot wait."


def action_rate_limited(per: str, what: str, limit: int, minutes: float) -> str:
    return f"Rate limit: at most {limit} executions per {per} (`{what}`) in {minutes:g} min."


def action_concurrency(running: int, cap: int) -> str:
    return f"{running} operations are running fleet-wide (cap {cap}); try when one finishes."


def action_locked(target: str, lock: LockView) -> str:
    return (
        f"`{target}` is locked by <@{lock.owner_id}> (`{lock.action}`, request "
        f"`{lock.request_id}`) since {at_utc(lock.since)}, until {at_utc(lock.expires_at)}."
    )


def action_no_plan(error: str | None) -> str:
    return f"The fleet could not draw a plan ({error or 'no answer'}); nothing was changed."


def action_plan_refused(reason: str | None) -> str:
    return f"The fleet refuses this plan: {reason or 'no reason given'}."


def action_capacity(service: str, healthy: int, loss: int, floor: int) -> str:
    return (
        f"Capacity floor: `{service}` has {healthy} healthy members; this takes {loss} away "
        f"and the policy keeps at least {floor}."
    )


def action_not_approver(roles: Sequence[str]) -> str:
    return f"Approving this needs the role {_roles(roles)}."


def action_vetoed(user: str) -> str:
    return f"Denied by <@{user}>."


def action_needs_approval(have: int, need: int, roles: Sequence[str]) -> str:
    return f"needs approval by {_roles(roles)} ({have}/{need})"


def action_denied(action: str, target: str, reason: str, seq: int) -> str:
    return f":no_entry: `{action}` on `{target}` refused: {reason} (audit #{seq})"


def action_already(request_id: str, state: str) -> str:
    return f"Request `{request_id}` is already {state}; nothing more to do with that."


def action_cancelled(action: str, target: str) -> str:
    return f"Cancelled: `{action}` on `{target}` will not run."


def cancelled_by(user: str) -> str:
    return f"Cancelled by <@{user}>."


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


def where_card(channel: str, thread_ts: str | None) -> str:
    return f"the incident thread in <#{channel}>" if thread_ts else f"<#{channel}>"


def new_primary(member: str, lag: int | None) -> str:
    return f"`{member}` (lag {_size(lag)})"


def plan_change(
    member: str | None,
    attribute: str,
    before: str | int | bool | None,
    after: str | int | bool | None,
) -> str:
    who = f"`{member}` " if member else ""
    return f"• {who}{attribute}: {before if before is not None else '–'} → {after}"


def request_context(request_id: str, reason: str | None, params: str, glass: bool) -> str:
    parts = [f"request `{request_id}`", f"params `{params}`"]
    if reason:
        parts.append(f"reason: {reason}")
    if glass:
        parts.append(":rotating_light: break-glass")
    return " · ".join(parts)


def card_waiting(needs: str, expires: datetime | None, requester: str | None = None) -> str:
    who = f"<@{requester}> asks: " if requester else ""
    return f":hourglass: {who}{needs}; open until {at_utc(expires)}."


def card_running(requester: str, approvers: Sequence[str]) -> str:
    by = f", approved by {', '.join(f'<@{a}>' for a in approvers)}" if approvers else ""
    return f":gear: Running, requested by <@{requester}>{by}. Progress in the thread."


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
    return f"You denied `{action}` on `{target}`; it will not run."


def break_glass_announcement(user: str, action: str, target: str, reason: str | None) -> str:
    return (
        f":rotating_light: *Break-glass*: <@{user}> is running `{action}` on `{target}` "
        f"without freeze or approval checks. Reason: {reason}"
    )


def operation_started(op: str, action: str, target: str, seq: int) -> str:
    return (
        f":gear: `{action}` on `{target}` started as `{op}` (audit #{seq}); "
        "follow it in the thread."
    )


def start_failed(action: str, target: str, reason: str) -> str:
    return (
        f":x: `{action}` on `{target}` did not start: {reason}. "
        "Nothing changed; the lock is released."
    )


def start_unknown(action: str, target: str, reason: str, lock_until: datetime) -> str:
    return (
        f":grey_question: `{action}` on `{target}`: no clear answer from the fleet ({reason}). "
        "It may or may not have started; I will look it up on the fleet and report here, and "
        f"will not send it again. `{target}` stays locked until {at_utc(lock_until)}."
    )


def progress_title(op: str, state: str, action: str, target: str) -> str:
    return f"`{op}` {action} {target}: *{state}*"


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
    if state == "succeeded":
        check = {True: "post-check passed", False: "post-check FAILED, look now", None: ""}[
            checks_passed
        ]
        return f":white_check_mark: `{action}` on `{target}` succeeded (`{op}`); {check}."
    if state == "cancelled":
        return f":heavy_minus_sign: `{action}` on `{target}` cancelled by {cancelled_by} (`{op}`)."
    return f":x: `{action}` on `{target}` failed (`{op}`): {error or 'no reason given'}."


def post_check_lines(checks: Sequence[tuple[str, bool]]) -> str:
    return "*Post-check*\n" + "\n".join(
        f"{':white_check_mark:' if ok else ':x:'} {what}" for what, ok in checks
    )


def audit_refs(seqs: Sequence[int]) -> str:
    return "audit " + ", ".join(f"#{s}" for s in seqs)


def check_health(service: str, health: str) -> str:
    return f"`{service}` is {health}"


def check_paused(service: str, paused: bool) -> str:
    return f"`{service}` automation is {'paused' if paused else 'active'}"


def check_version(service: str, version: str) -> str:
    return f"`{service}` runs version {version}"


def check_member_missing(member: str) -> str:
    return f"`{member}` is in the cluster"


def check_role(member: str, role: str) -> str:
    return f"`{member}` is {role}"


def check_member_healthy(member: str) -> str:
    return f"`{member}` is back and healthy"


def check_floor(healthy: int, total: int, floor: int) -> str:
    return f"{healthy}/{total} members healthy (floor {floor})"


def check_unreadable(error: str) -> str:
    return f"could not read the service ({error})"


def reconciled_found(op: str, seq: int) -> str:
    return f":mag: Found it on the fleet: `{op}`. Tracking it now (audit #{seq})."


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


def cancel_unknown(ref: str) -> str:
    return f"No request or operation `{ref}` that I started; see `/fleet ops`."


def cancel_refused(op: str, reason: str) -> str:
    return f"The fleet will not cancel `{op}`: {reason}"


def cancel_asked(user: str, op: str, seq: int) -> str:
    return f":octagonal_sign: <@{user}> asked the fleet to cancel `{op}` (audit #{seq})."


def ops_title(target: str | None) -> str:
    return f"Actions{f' on {target}' if target else ''}, newest first"


def ops_empty(target: str | None) -> str:
    return f"No actions{f' on `{target}`' if target else ''} yet."


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
    operation = f" · `{op}`" if op else ""
    who = f"<@{requester}> · {at_utc(when)}"
    return f"{icon} `{request_id}` {action} `{target}` *{state}*{operation} · {who}"


def fleet_op_line(op: str, action: str, target: str, state: str, actor: str) -> str:
    return f":satellite: `{op}` {action} `{target}` *{state}* · by {actor} (not started here)"


def lock_line(lock: LockView) -> str:
    return (
        f":lock: `{lock.resource}` by <@{lock.owner_id}> (`{lock.action}`, request "
        f"`{lock.request_id}`) since {at_utc(lock.since)}, until {at_utc(lock.expires_at)}"
    )


# Incidents (`/incident`, incident and storm threads).

NO_OPEN_INCIDENTS = "No open incidents here. :sunny:"
STORM_THREAD_HINT = (
    "This is a storm thread: `ack` and `resolve` act on all of its incidents; "
    "for one of them, name it: `#42`."
)


def incident_footer(incident_id: int, group_key: str, route: str) -> str:
    return f"Incident #{incident_id} · {group_key or 'opened by hand'} · route {route}"


def incident_pages_title(count: int) -> str:
    return f"{count} alert update{'s' if count != 1 else ''}"


def incident_reopened(times: int) -> str:
    return f":repeat: Reopened: the alert fired again soon after it resolved (reopen #{times})."


def incident_resolved_by_source(source: str) -> str:
    return f":white_check_mark: Resolved: every alert has cleared ({source})."


def incident_acknowledged(user: str, incident_id: int) -> str:
    return f":eyes: <@{user}> acknowledged incident #{incident_id}."


def incident_resolved(user: str, incident_id: int) -> str:
    return f":white_check_mark: <@{user}> resolved incident #{incident_id}."


def incident_acknowledged_answer(incident_id: int) -> str:
    return f"You acknowledged incident #{incident_id}; escalation stops."


def incident_resolved_answer(incident_id: int) -> str:
    return f"You resolved incident #{incident_id}."


def incident_not_triggered(incident_id: int, status: str) -> str:
    return f"Incident #{incident_id} is already {status}."


def incident_already_resolved(incident_id: int) -> str:
    return f"Incident #{incident_id} is already resolved."


def incident_note(user: str, text: str) -> str:
    return f":memo: <@{user}>: {text}"


def incident_note_answer(incident_id: int) -> str:
    return f"Noted in incident #{incident_id}."


def incident_assigned(user: str, assignee: str) -> str:
    return f":bust_in_silhouette: <@{user}> assigned this incident to <@{assignee}>."


def incident_assigned_answer(incident_id: int, assignee: str) -> str:
    return f"Incident #{incident_id} is now <@{assignee}>'s."


def incident_opened_answer(incident_id: int) -> str:
    return f"Opened incident #{incident_id}; its thread is on its way to this channel."


def incident_escalated(mentions: str, minutes: int) -> str:
    who = mentions or "on-call"
    return f":rotating_light: {who} still unacknowledged after {minutes} min — please take a look."


def no_such_incident(incident_id: int) -> str:
    return f"There is no incident #{incident_id}."


def no_such_storm(storm_id: int) -> str:
    return f"There is no storm #{storm_id}."


def which_incident(command: str, open_ids: list[int]) -> str:
    if not open_ids:
        return f"No open incident in this channel; name one, e.g. `{command} ack #42`."
    shown = ", ".join(f"#{i}" for i in open_ids[:5])
    example = f"`{command} ack #{open_ids[0]}`"
    return f"Several incidents are open here ({shown}…); name one, e.g. {example}."


def open_incidents_title(total: int, everywhere: bool) -> str:
    where = "" if everywhere else " in this channel"
    return f"{total} open incident{'s' if total != 1 else ''}{where}"


def more_incidents(count: int) -> str:
    return f"… and {count} more (`/incident list all` shows every channel)"


def active_storms(storms: list[tuple[int, str, int]]) -> str:
    return "Active storms: " + " · ".join(f"#{i} {key} ({n} incidents)" for i, key, n in storms)


def storm_headline(label: str, value: str, count: int) -> str:
    return f"Alert storm in {label} {value}: {count} incidents, one thread"


def storm_footer(storm_id: int) -> str:
    return (
        f"Storm #{storm_id} · its incidents get no threads of their own; "
        "`@watchkeeper ack` here acknowledges all of them"
    )


def storm_digest_title(count: int) -> str:
    return f":zap: {count:,} more incident{'s' if count != 1 else ''} joined this storm"


def storm_changed(user: str, count: int, *, resolved: bool) -> str:
    verb = "resolved" if resolved else "acknowledged"
    plural = "s" if count != 1 else ""
    return f":white_check_mark: <@{user}> {verb} {count:,} incident{plural} of this storm."


def pagerduty_triggered(dedup_key: str) -> str:
    return f":pager: Paged through PagerDuty (dedup key `{dedup_key}`)."


def pagerduty_failed(reason: str) -> str:
    return f":warning: PagerDuty refused the page: {reason}"


def silence_duration_help(max_hours: int) -> str:
    return f"Give the silence a length like `30m`, `2h` or `1d` (at most {max_hours} h), or `off`."


def silence_resolved(incident_id: int) -> str:
    return f"Incident #{incident_id} is resolved; there is nothing to silence."


def silence_comment(incident_id: int, title: str) -> str:
    return f"Watchkeeper incident #{incident_id}: {title}"


def silence_failed(reason: str) -> str:
    return f"Alertmanager did not take the silence ({reason}); nothing was silenced."


def silence_created(user: str, until: str, matchers: str, external_id: str | None) -> str:
    where = f"Alertmanager silence `{external_id}`" if external_id else "kept by Watchkeeper"
    return f":no_bell: <@{user}> silenced `{matchers}` until {until} ({where})."


def silence_answer(incident_id: int, until: str) -> str:
    return f"Incident #{incident_id} is silenced until {until}."


def no_silences(incident_id: int) -> str:
    return f"Incident #{incident_id} has no active silence."


def silence_lifted_answer(incident_id: int) -> str:
    return f"The silences of incident #{incident_id} are lifted."


def silence_ended(user: str | None, *, lifted: bool) -> str:
    if lifted and user:
        return f":bell: <@{user}> lifted the silence; alerts notify again."
    return ":bell: The silence has expired; alerts notify again."


def silence_line(silence_id: int, by: str, until: str, matchers: str, external: str | None) -> str:
    where = f" · Alertmanager `{external}`" if external else ""
    return f":no_bell: silence {silence_id} by <@{by}> on `{matchers}` until {until}{where}"


def incident_suggested(commands: str) -> str:
    return f"Suggested: {commands}"
