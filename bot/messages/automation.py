"""User-facing strings of bounded auto-remediation (runbooks, limits, the kill switch)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.mentions import code, escape, mention_user
from bot.messages.action_cards import person
from bot.messages.actions import _size, at_utc

AUTOMATION_NEEDS_APPROVAL = (
    "automation never runs an action that needs someone's approval; it is suggested instead"
)
AUTOMATION_CONFIRMED_BY_RUNBOOK = "confirmed in advance by the runbook that asked for it"


def automation_switch_line(paused: bool, by: str | None, at: datetime | None) -> str:
    """The kill switch's state, on every automation message."""
    if paused:
        who = person(by or "someone")
        since = at_utc(at) if at else "a while"
        return (
            f":double_vertical_bar: Automation is *paused* (by {who} since {since}); "
            "`/fleet automation resume` turns it back on."
        )
    return ":robot_face: Automation is on · `/fleet automation pause` stops it everywhere."


def _call(action: str, service: str, params: Mapping[str, str]) -> str:
    # Parameters are filled from the page's labels: shown as code, never as markup.
    words = " ".join(f"{k}={v}" for k, v in sorted(params.items()))
    return code(f"{action} {service}{' ' + words if words else ''}")


def automation_starting(
    runbook: str, action: str, service: str, params: Mapping[str, str], alert: str
) -> str:
    return (
        f":robot_face: Runbook *{runbook}* matched {code(alert)}: running "
        f"{_call(action, service, params)} automatically, through the same guards as a person."
    )


def automation_fixed(action: str, service: str, op: str | None) -> str:
    return (
        f":white_check_mark: Automation ran {code(action)} on {code(service)}"
        f"{f' (operation {code(op)})' if op else ''} and the post-check passed. "
        "Fixed without waking anyone."
    )


def automation_failed(action: str, service: str, why: str) -> str:
    return f":x: Automation's {code(action)} on {code(service)} did not fix it: {why}"


def automation_post_check_failed(state: str) -> str:
    return (
        "the operation succeeded but the post-check failed"
        if state == "succeeded"
        else (f"the operation ended {state}")
    )


def automation_refused(action: str, service: str, reason: str) -> str:
    return f":no_entry: Automation did not run {code(action)} on {code(service)}: {reason}"


def automation_limited(runbook: str, reason: str) -> str:
    return f":octagonal_sign: Runbook *{runbook}* hit a limit and did not run: {reason}"


AUTOMATION_PAUSED = "automation is paused"


def automation_paused_skip(runbook: str) -> str:
    return f":double_vertical_bar: Runbook *{runbook}* matched, but automation is paused."


def automation_feedback(action: str, service: str, used: int, limit: int | None) -> str:
    budget = f" ({used} of {limit} this hour)" if limit else ""
    return (
        f":leftwards_arrow_with_hook: This page follows automation's own {code(action)} on "
        f"{code(service)}: counted against its limits{budget}, not acted on again."
    )


def automation_dry_run(
    runbook: str, action: str, service: str, params: Mapping[str, str], verdict: str
) -> str:
    return (
        f":test_tube: Dry run of runbook *{runbook}*: would have run "
        f"{_call(action, service, params)}; {verdict}. Nothing was sent to the fleet."
    )


def automation_suggested(runbook: str, action: str, service: str, why: str | None) -> str:
    because = f" ({why})" if why else ""
    return (
        f":bulb: Runbook *{runbook}* suggests {code(action)} on {code(service)}{because}. "
        "Click to run it through the usual guards."
    )


# The confirm step: what the fleet showed of the member a page names (bot/automation/confirm).
def member_seen(member: str, role: str, state: str, lag: int | None) -> str:
    behind = f", {_size(lag)} behind" if lag is not None else ""
    return f"{code(member)} is a {role}, {state}{behind}"


def automation_seen(seen: str) -> str:
    return f"Seen in the fleet: {seen}."


def confirm_condition(roles: list[str], lag_above: int | None, states: list[str]) -> str:
    faults = []
    if lag_above is not None:
        faults.append(f"more than {_size(lag_above)} behind")
    if states:
        faults.append(" or ".join(states))
    return f"a {' or '.join(roles)} {' or '.join(faults)}"


def confirm_no_member(service: str) -> str:
    return f"the page names no member of {code(service)}"


def confirm_unknown_member(service: str, member: str) -> str:
    return f"{code(service)} has no member {code(member)}"


def confirm_wrong_role(seen: str, roles: list[str]) -> str:
    return f"{seen}: automation repairs only a {' or '.join(roles)}"


def confirm_no_fault(seen: str, condition: str) -> str:
    return f"{seen}: not the fault the runbook repairs ({condition})"


def confirm_unreadable(service: str, error: str) -> str:
    return f"the fleet could not be asked about {code(service)} ({escape(error)})"


def source_not_trusted(source: str, trusted: list[str]) -> str:
    allowed = ", ".join(trusted) or "none"
    return f"pages from {code(source)} may not start automation (`automation.sources`: {allowed})"


def automation_unconfirmed(runbook: str, reason: str) -> str:
    return f":mag: Runbook *{runbook}* matched, but did not run: {reason}."


def automation_escalated(mentions: str, why: str) -> str:
    who = mentions or "On-call"
    return f":rotating_light: {who}: automation could not handle this, a person is needed ({why})."


# Limits, as the reason a run did not happen.
def limit_runs(scope: str, service: str, used: int, limit: int) -> str:
    return f"{scope}: {used} runs on {code(service)} in the last hour, at most {limit}"


def limit_concurrent(scope: str, running: int, limit: int) -> str:
    return f"{scope}: {running} automation runs in progress, at most {limit} at once"


def limit_failures(scope: str, count: int) -> str:
    return (
        f"{scope}: stopped after {count} failed runs in a row; "
        "`/fleet automation resume` after a look"
    )


def limit_capacity(service: str, healthy: int, floor: int) -> str:
    return (
        f"capacity floor: {code(service)} has {healthy} healthy members and automation keeps "
        f"at least {floor} while it works"
    )


DRY_RUN_ALLOWED = "the guards checked so far allow it (the fleet's plan is not asked in a dry run)"


def dry_run_denied(reason: str) -> str:
    return f"it would have been refused: {reason}"


# `/fleet automation`.
def automation_switched(paused: bool, user: str, seq: int | None) -> str:
    state = "paused everywhere: no runbook runs until resumed" if paused else "resumed"
    audit = f" (audit #{seq})" if seq else ""
    return f"Automation {state}, by {mention_user(user)}{audit}."


def automation_status(switch_line: str, runbooks: list[str], recent: list[str]) -> str:
    books = "\n".join(runbooks) or "_no runbooks configured_"
    runs = "\n".join(recent) or "_none yet_"
    return f"{switch_line}\n*Runbooks*\n{books}\n*Recent decisions*\n{runs}"
