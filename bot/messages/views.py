"""Words of the modals, the App Home and the message shortcut."""

from __future__ import annotations

from bot.mentions import code, escape

STALE_FORM = "This form is out of date, so nothing was done. Open it again from its button."
BREAK_GLASS_FORM_REASON = "Break-glass needs a reason: say why it cannot wait."
FORM_NO_CANDIDATE = "No healthy replica to pick right now; leave it to the fleet or try later."


def form_not_opened(error: str, command: str) -> str:
    return (
        f"I could not open the form (Slack answered {code(error)}); type {code(command)} instead."
    )


def action_form_title(action: str) -> str:
    return action.replace("-", " ").title()


def action_form_intro(action: str, target: str, summary: str) -> str:
    return f"*{escape(action)}* on {code(target)}: {escape(summary)}"


FORM_REASON_LABEL = "Reason (shown on the card and in the audit log)"
FORM_BREAK_GLASS = "Break glass: skip freeze and approval (announced, reviewed after)"
FORM_CANDIDATE_LABEL = "Replica to promote (healthy replicas now)"
FORM_MEMBER_LABEL = "Member"
FORM_ANY_MEMBER = "Whole service, one member at a time"
FORM_MODE_LABEL = "Run now or schedule"
FORM_AT_LABEL = "When (ISO 8601 with offset)"
FORM_AT_HINT = "e.g. 2026-01-06T03:00:00+00:00"
FORM_FLEET_UNREAD = "The fleet did not answer in time: type the member's name."

SILENCE_FORM_TITLE = "Silence alerts"
SILENCE_DURATION_LABEL = "For how long (30m, 2h, 1d)"
SILENCE_NARROW_LABEL = "Only alerts that also match (narrower silence)"


def silence_form_intro(incident_id: int, matchers: str) -> str:
    return f"Silence the alerts of incident *#{incident_id}*: {matchers}."


HOME_TITLE = "Watchkeeper"
HOME_ONCALL = "On call now"
HOME_MY_INCIDENTS = "My open incidents"
HOME_APPROVALS = "Approvals waiting for me"
HOME_AUTOMATION = "Automation"
HOME_HANDOFFS = "Last handoffs"
HOME_NO_INCIDENTS = "None: no open incident is acknowledged by or assigned to you."
HOME_NO_APPROVALS = "None waiting for you."
HOME_NO_HANDOFFS = "No handoff posted yet."
HOME_NO_ROTATIONS = "No rotation is configured."


def home_updated(when: str) -> str:
    return f"Updated {when}"


# Slack allows 24 characters for a shortcut's name; the description says the rest.
SHORTCUT_NAME = "Open incident"
SHORTCUT_DESCRIPTION = "Open incident from this message: its thread links the message"
SHORTCUT_NO_PERMALINK = "I could not get a link to that message from Slack; nothing was opened."


def incident_from_message_note(permalink: str) -> str:
    return f"Opened from <{permalink}|this message>."


def incident_from_message_title(text: str) -> str:
    first = " ".join(text.split())
    return first or "Incident opened from a message"
