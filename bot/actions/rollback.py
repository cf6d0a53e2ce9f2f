"""The rollback offer: when an action's post-check fails, its thread offers the reverse.

Which request undoes which is declared once per action in the catalog
(`ActionSpec.reverse`, drawn from the plan that was confirmed: a switchover back to the
previous primary, a pause undone by a resume), so every backend whose plans say what
they change gets the offer. The button only *starts* a new request, by the clicker,
through the same permission step (the button's verb is the reverse action's own verb)
and the same guard chain, preview, approvals and locks as one typed by hand; nothing is
run by itself (docs/backends.md, "One fleet, several backends").
"""

from __future__ import annotations

import uuid
from typing import Any

from bot import messages as m
from bot.actions import flow
from bot.actions.action_blocks import Preview
from bot.actions.catalog import CATALOG
from bot.actions.guard_chain import Person
from bot.actions.lifecycle import RequestState
from bot.actions.models import ActionRequest
from bot.actions.store import get_request
from bot.outbox import Message
from bot.permissions.verbs import VerbChoice
from bot.runtime import Runtime
from integrations.fleet.models import ParamValue

BUTTON = "act-rollback"
# The button's verb is the reverse action's own (`fleet.switchover`, ...): whoever clicks
# needs what typing that request would need. A word not listed is refused (no default).
VERB = VerbChoice(
    {name: f"fleet.{name}" for name, spec in CATALOG.items() if spec.fleet_action is not None}
)


def reverse_of(row: ActionRequest) -> tuple[str, dict[str, ParamValue]] | None:
    """The request that undoes `row`, from the plan its requester confirmed."""
    spec = CATALOG.get(row.action)
    preview = Preview.load(row.plan)
    if spec is None or spec.reverse is None or preview is None:
        return None
    return spec.reverse(preview.plan)


def offer(row: ActionRequest) -> tuple[str, dict[str, Any]] | None:
    """The offer's text and button for the result in the thread, or None."""
    reverse = reverse_of(row)
    if reverse is None:
        return None
    action, params = reverse
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": m.ROLLBACK_BUTTON},
        # The word picks the verb; the request id binds what it undoes, server-side.
        "action_id": f"{BUTTON}:{action}:{row.id}",
        "value": row.id,
    }
    return m.rollback_offer(action, row.target, params), button


async def start(rt: Runtime, request_id: str, word: str | None, actor: Person, key: str) -> Message:
    """A click on the offer: a new request for the reverse, by the clicker, from scratch."""
    async with rt.sessions() as session:
        row = await get_request(session, request_id)
    reverse = reverse_of(row) if row is not None else None
    # Only a finished action is undone, and only by what its own plan says (a forged
    # word or id gets nothing more than a stale answer).
    if row is None or row.state != RequestState.SUCCEEDED or reverse is None:
        return Message(text=m.STALE_BUTTON)
    action, params = reverse
    if action != word:
        return Message(text=m.STALE_BUTTON)
    return await flow.submit(
        rt,
        flow.Draft(
            action=action,
            target=row.target,
            params=dict(params),
            requester=actor,
            channel_id=row.channel_id,
            idempotency_key=key,
            reason=m.rollback_reason(row.id, row.action),
            thread_ts=row.thread_ts,
        ),
    )


def click_key(trigger_id: str | None) -> str:
    """Slack's trigger id is one per click and the same across Slack's retries."""
    return f"slack:{trigger_id}" if trigger_id else f"bot:{uuid.uuid4().hex}"
