"""The action and outcome words audit rows use, so a reviewer can filter on them.

A row reads as: *actor* did *action* on *target* with *params*, and it ended in *outcome*,
about *ref*. Actions are `<subject>.<verb>`; add new ones here rather than inventing
spellings at the call site.
"""

from __future__ import annotations

# Commands and the guard chain (params: command text, args, reason, guard, why).
COMMAND_INVOKED = "command.invoked"
GUARD_DECIDED = "guard.decided"
CONFIRMATION = "confirmation"
APPROVAL_REQUESTED = "approval.requested"
APPROVAL_DECIDED = "approval.decided"
BREAK_GLASS = "break_glass.used"

# Execution on the fleet (ref: the fleet's operation id; params: request and answer).
OPERATION_STARTED = "operation.started"
OPERATION_FINISHED = "operation.finished"
POST_CHECK = "operation.post_check"
# Guarded actions (bot/actions): the claim before the fleet call, reconciliation of an
# unclear start, a cancel asked of the fleet, and requests that ended before running.
OPERATION_REQUESTED = "operation.requested"
OPERATION_RECONCILED = "operation.reconciled"
OPERATION_CANCEL = "operation.cancel_requested"
ACTION_CANCELLED = "action.cancelled"
ACTION_EXPIRED = "action.expired"
# A break-glass action run by one person alone, reviewed by another (outcome REVIEWED),
# or the review refused (DENIED: the actor reviewing their own action).
ACTION_REVIEWED = "action.reviewed"

# Incidents, pages and silences (ref: incident / page id).
INCIDENT_OPENED = "incident.opened"
INCIDENT_ACKNOWLEDGED = "incident.acknowledged"
INCIDENT_RESOLVED = "incident.resolved"
SILENCE_CREATED = "silence.created"
SILENCE_EXPIRED = "silence.expired"
# (bot/incidents) reopened within the reopen window, a note or an owner added, mentioned
# again unacknowledged, paged through PagerDuty.
INCIDENT_REOPENED = "incident.reopened"
INCIDENT_NOTED = "incident.noted"
INCIDENT_ASSIGNED = "incident.assigned"
INCIDENT_ESCALATED = "incident.escalated"
INCIDENT_PAGED = "incident.paged"

# The bot itself.
CONFIG_LOADED = "config.loaded"
AUTOMATION_DECIDED = "automation.decided"
# The kill switch: `/fleet automation pause|resume` (outcome PAUSED or RESUMED).
AUTOMATION_SWITCHED = "automation.switched"
AUDIT_VERIFIED = "audit.verified"
# Campaigns (bot/campaigns; target: `campaign:<id>`, ref: the campaign id): planned,
# re-planned when the fleet changed before approval, each approval decision, approved,
# each wave started and baked, halted, paused, resumed, aborted, finished. Each target's
# action is the usual action rows of its request (params: `campaign`).
CAMPAIGN_PLANNED = "campaign.planned"
CAMPAIGN_REPLANNED = "campaign.replanned"
CAMPAIGN_DECIDED = "campaign.approval_decided"
CAMPAIGN_APPROVED = "campaign.approved"
CAMPAIGN_WAVE = "campaign.wave"
CAMPAIGN_HALTED = "campaign.halted"
CAMPAIGN_STEERED = "campaign.steered"
CAMPAIGN_FINISHED = "campaign.finished"
CAMPAIGN_TARGET = "campaign.target"

# Outcomes.
ACCEPTED = "accepted"
# The permission step's answer to an invocation (command.invoked).
ALLOWED = "allowed"
REFUSED = "refused"
DENIED = "denied"
NEEDS_CONFIRMATION = "needs_confirmation"
NEEDS_APPROVAL = "needs_approval"
CONFIRMED = "confirmed"
DECLINED = "declined"
APPROVED = "approved"
REJECTED = "rejected"
EXPIRED = "expired"
SUCCEEDED = "succeeded"
FAILED = "failed"
UNKNOWN = "unknown"
CANCELLED = "cancelled"
REVIEWED = "reviewed"
LOADED = "loaded"
INTACT = "intact"
BROKEN = "broken"
# Incident outcomes (bot/incidents): the state the incident is in after the row's change.
TRIGGERED = "triggered"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
NOTED = "noted"
ASSIGNED = "assigned"
ESCALATED = "escalated"
# Automation's decisions on a page (bot/automation): what it did instead of running, or
# how the run ended (SUCCEEDED: the fix held, post-check passed; FAILED otherwise).
PAUSED = "paused"
RESUMED = "resumed"
ABORTED = "aborted"
HALTED = "halted"
STARTED = "started"
BAKED = "baked"
FINISHED = "finished"
LIMITED = "limited"
FEEDBACK = "feedback"
SUGGESTED = "suggested"
DRY_RUN = "dry_run"
# Left to people by the confirm step (bot/automation/confirm.py): the page's source may
# not start automation, or the fleet did not show the fault (or could not be asked).
UNTRUSTED = "untrusted"
UNCONFIRMED = "unconfirmed"
