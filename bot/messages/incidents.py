"""User-facing strings of incidents and their threads."""

from __future__ import annotations

from bot.mentions import code, escape, mention_user

# Incidents (`/incident`, incident and storm threads).

NO_OPEN_INCIDENTS = "No open incidents here. :sunny:"
STORM_THREAD_HINT = (
    "This is a storm thread: `ack` and `resolve` act on all of its incidents; "
    "for one of them, name it: `#42`."
)


def incident_footer(incident_id: int, group_key: str, route: str) -> str:
    return f"Incident #{incident_id} · {group_key or 'opened by hand'} · route {route}"


FLEET_NOW = "Fleet now"
FLEET_AT_RESOLUTION = "Fleet at resolution"


def paging(mentions: str) -> str:
    """The context line at the top of a root or an escalation: who it pages. `mentions` is
    made by bot.mentions from config and roster ids, never from page text."""
    return f":rotating_light: Paging {mentions}"


def incident_pages_title(count: int) -> str:
    return f"{count} alert update{'s' if count != 1 else ''}"


def incident_reopened(times: int) -> str:
    return f":repeat: Reopened: the alert fired again soon after it resolved (reopen #{times})."


def incident_resolved_by_source(source: str) -> str:
    return f":white_check_mark: Resolved: every alert has cleared ({source})."


def incident_acknowledged(user: str, incident_id: int) -> str:
    return f":eyes: {mention_user(user)} acknowledged incident #{incident_id}."


def incident_resolved(user: str, incident_id: int) -> str:
    return f":white_check_mark: {mention_user(user)} resolved incident #{incident_id}."


def incident_acknowledged_answer(incident_id: int) -> str:
    return f"You acknowledged incident #{incident_id}; escalation stops."


def incident_resolved_answer(incident_id: int) -> str:
    return f"You resolved incident #{incident_id}."


def incident_not_triggered(incident_id: int, status: str) -> str:
    return f"Incident #{incident_id} is already {status}."


def incident_already_resolved(incident_id: int) -> str:
    return f"Incident #{incident_id} is already resolved."


def incident_note(user: str, text: str) -> str:
    return f":memo: {mention_user(user)}: {escape(text)}"


def incident_note_answer(incident_id: int) -> str:
    return f"Noted in incident #{incident_id}."


def incident_assigned(user: str, assignee: str) -> str:
    who, to = mention_user(user), mention_user(assignee)
    return f":bust_in_silhouette: {who} assigned this incident to {to}."


def assignee_unknown(assignee: str) -> str:
    return (
        f"I don't know {code(assignee)}: an incident is assigned to someone in `roles:` or "
        "an on-call rotation of app.yaml, whom I may ping."
    )


def incident_assigned_answer(incident_id: int, assignee: str) -> str:
    return f"Incident #{incident_id} is now {mention_user(assignee)}'s."


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
    return (
        f":white_check_mark: {mention_user(user)} {verb} {count:,} incident{plural} of this storm."
    )


def pagerduty_triggered(dedup_key: str) -> str:
    return f":pager: Paged through PagerDuty (dedup key {code(dedup_key)})."


def pagerduty_failed(reason: str) -> str:
    return f":warning: PagerDuty refused the page: {reason}"


def silence_duration_help(max_hours: int) -> str:
    return f"Give the silence a length like `30m`, `2h` or `1d` (at most {max_hours} h), or `off`."


def silence_resolved(incident_id: int) -> str:
    return f"Incident #{incident_id} is resolved; there is nothing to silence."


def silence_comment(incident_id: int, title: str) -> str:
    return f"Watchkeeper incident #{incident_id}: {title}"


def silence_failed(reason: str) -> str:
    return f"Alertmanager did not take the silence ({escape(reason)}); nothing was silenced."


def silence_created(user: str, until: str, matchers: str, external_id: str | None) -> str:
    where = f"Alertmanager silence {code(external_id)}" if external_id else "kept by Watchkeeper"
    return f":no_bell: {mention_user(user)} silenced {code(matchers)} until {until} ({where})."


def silence_answer(incident_id: int, until: str) -> str:
    return f"Incident #{incident_id} is silenced until {until}."


def no_silences(incident_id: int) -> str:
    return f"Incident #{incident_id} has no active silence."


def silence_lifted_answer(incident_id: int) -> str:
    return f"The silences of incident #{incident_id} are lifted."


def silence_ended(user: str | None, *, lifted: bool) -> str:
    if lifted and user:
        return f":bell: {mention_user(user)} lifted the silence; alerts notify again."
    return ":bell: The silence has expired; alerts notify again."


def silence_line(silence_id: int, by: str, until: str, matchers: str, external: str | None) -> str:
    where = f" · Alertmanager {code(external)}" if external else ""
    who = mention_user(by)
    return f":no_bell: silence {silence_id} by {who} on {code(matchers)} until {until}{where}"


def incident_suggested(commands: str) -> str:
    return f"Suggested: {commands}"


def timeline_title(incident_id: int) -> str:
    return f"Timeline of incident #{incident_id}"


def timeline_refused(reason: str) -> str:
    # The reason quotes the record (an incident number, a verifier's finding): escaped.
    return f":no_entry: No timeline: {escape(reason)}"


def timeline_more(count: int, incident_id: int) -> str:
    return (
        f"{count} more event(s) not shown here: "
        f"`watchkeeper incident export {incident_id} --format md` has them all."
    )
