"""The silence modal of an incident root ("Silence…"): a duration typed, and more of the
incident's own labels to narrow the silence to (docs/incidents.md, "Modals").

A bad duration is a field error in the modal; the submission is judged by the permission
step as `/incident silence` is (verb `incident.silence`, surface "modal").
"""

from __future__ import annotations

from typing import Any

from bot import messages
from bot.block_kit import section
from bot.incidents.models import Incident
from bot.incidents.silences import matchers_for, narrowing_labels, parse_duration, silence
from bot.interactions import Submission
from bot.mentions import code
from bot.modals import checkboxes, modal, option, text_input
from bot.outbox import Message
from bot.permissions.scope import IncidentRef
from bot.registry import CommandError
from bot.runtime import Runtime

FORM_ID = "incident-silence"
BUTTON = "incident:silence:pick"
DURATION = "duration"
NARROW = "narrow"
DEFAULT_DURATION = "2h"


async def silence_view(rt: Runtime, *, incident_id: int, origin: dict[str, Any]) -> dict[str, Any]:
    async with rt.sessions() as session:
        incident = await session.get(Incident, incident_id)
    base = matchers_for(rt, incident) if incident is not None else {}
    extra = narrowing_labels(rt, incident) if incident is not None else {}
    shown = ", ".join(code(f"{k}={v}") for k, v in sorted(base.items())) or "all of its alerts"
    blocks = [
        section(messages.silence_form_intro(incident_id, shown)),
        text_input(DURATION, messages.SILENCE_DURATION_LABEL, initial=DEFAULT_DURATION),
    ]
    if extra:
        options = [option(f"{k}={v}", k) for k, v in list(extra.items())[:10]]
        blocks.append(checkboxes(NARROW, messages.SILENCE_NARROW_LABEL, options))
    return modal(
        rt,
        callback_id=FORM_ID,
        title=messages.SILENCE_FORM_TITLE,
        submit="Silence",
        blocks=blocks,
        origin={**origin, "incident": incident_id},
    )


def _incident(submission: Submission) -> int | None:
    value = submission.origin.get("incident")
    return value if isinstance(value, int) and value > 0 else None


def check(submission: Submission, rt: Runtime) -> dict[str, str]:
    if _incident(submission) is None:
        return {DURATION: messages.STALE_FORM}
    try:
        parse_duration(submission.text(DURATION), rt.config.silences.max_hours)
    except CommandError as exc:
        return {DURATION: str(exc)}
    return {}


async def scope(submission: Submission, rt: Runtime) -> IncidentRef | None:
    number = _incident(submission)
    return None if number is None else IncidentRef("incident", number)


async def submit(submission: Submission, rt: Runtime) -> Message:
    number = _incident(submission)
    if number is None:
        return Message(text=messages.STALE_FORM)
    span = parse_duration(submission.text(DURATION), rt.config.silences.max_hours)
    answer = await silence(
        rt,
        incident_id=number,
        user=submission.user_id,
        duration=span,
        narrow_to=tuple(submission.picked(NARROW)),
    )
    return Message(text=answer)
