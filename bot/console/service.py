"""What an engineer can do from the fallback console, each through the same permission step
(surface "console") and the same guard chain as Slack (docs/fallback.md).

Every act is a `command.invoked` row by `cli:<login>` (the Slack id it maps to as the
name), then the area's own service function (`bot.actions.flow.submit`,
`.confirm.confirm`, `.approval_decision.approve|deny`) with the mapped person, so
policy, on-call, freeze, limits, lock, preview, confirmation and approval all apply. What
the console did is also said in the Slack thread, through the outbox: it arrives when
Slack does.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from bot import block_kit, messages
from bot.actions import approval_decision, confirm, flow, notify
from bot.actions.catalog import CATALOG
from bot.actions.guard_chain import Person
from bot.actions.models import ActionRequest
from bot.actions.notify import thread_by_key
from bot.audit.actors import console_name
from bot.console.auth import ConsoleCaller
from bot.db.unit_of_work import writing
from bot.incidents import queries as incident_queries
from bot.mentions import escape
from bot.outbox import Message
from bot.permissions import step
from bot.runtime import Runtime
from integrations.fleet.errors import FleetUnavailable, ServiceNotFound
from integrations.fleet.models import ParamValue

SURFACE = "console"
LISTED = 50


class ConsoleError(Exception):
    """The engineer's mistake or a refusal: the answer says why (HTTP 4xx)."""

    def __init__(self, status: int, error: str, text: str) -> None:
        super().__init__(text)
        self.status, self.error, self.text = status, error, text


@dataclass(frozen=True)
class Answer:
    text: str
    request: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def person(who: ConsoleCaller) -> Person:
    return Person(who.slack_user, console_name(who.login))


def plain(message: Message) -> str:
    """A Slack message as console text: its fallback, then its sections' words."""
    parts = [message.text]
    for block in message.blocks:
        text = (block.get("text") or {}).get("text")
        if block.get("type") == "section" and text and text not in parts:
            parts.append(text)
        for f in block.get("fields") or []:
            parts.append(f.get("text", ""))
    return "\n".join(p for p in parts if p)


async def _permit(rt: Runtime, who: ConsoleCaller, verb: str, what: str, text: str) -> None:
    ask = step.Ask(
        what=f"console {what}",
        verb=verb,
        user_id=who.slack_user,
        user_name=console_name(who.login),
        channel_id=SURFACE,
        thread_ts=None,
        text=text,
        surface=SURFACE,
    )
    # The console acts on an incident wherever it is (docs/fallback.md): no place check.
    permit = await step.permit(rt, ask)
    if not permit.allowed:
        raise ConsoleError(403, "refused", permit.reason)


async def open_incidents(rt: Runtime, who: ConsoleCaller) -> Answer:
    await _permit(rt, who, "incident.list", "incidents", "")
    listing = await incident_queries.open_incidents(rt, channel=None, limit=LISTED)
    rows = [
        {"id": i.id, "severity": i.severity, "title": i.title, "service": i.service,
         "status": i.status, "opened_at": i.opened_at.isoformat(),
         "acknowledged_by": i.acknowledged_by}
        for i in listing.shown
    ]  # fmt: skip
    lines = [
        f"#{r['id']} [{r['severity']}] {r['title']} — {r['service'] or '-'} · {r['status']}"
        for r in rows
    ]
    return Answer("\n".join(lines) or messages.NO_OPEN_INCIDENTS, data={"incidents": rows})


async def status(rt: Runtime, who: ConsoleCaller, service: str) -> Answer:
    await _permit(rt, who, "fleet.status", "status", service)
    try:
        found = await rt.fleet.get_service(service)
    except ServiceNotFound:
        raise ConsoleError(404, "not_found", f"no service named {service!r}") from None
    except FleetUnavailable as exc:
        raise ConsoleError(503, "fleet_unavailable", f"the fleet did not answer: {exc}") from None
    async with rt.sessions() as session:
        pending = list(
            await session.scalars(
                select(ActionRequest)
                .where(ActionRequest.target == service)
                .order_by(ActionRequest.created_at.desc())
                .limit(5)
            )
        )
    plans = [
        f"{r.id} {r.action} {r.state.value} by {r.requester_name}"
        + (f"\n  plan: {r.plan}" if r.plan else "")
        for r in pending
    ]
    text = block_kit.status_text(found) + (
        "\nRecent requests:\n" + "\n".join(plans) if plans else ""
    )
    return Answer(text, data={"requests": [r.id for r in pending]})


async def _where(rt: Runtime, service: str) -> tuple[str, str | None]:
    """The request's channel and thread: the open incident's about the service (its
    thread by key, so it works while its root still waits in the outbox), else the
    default channel."""
    incident = await incident_queries.open_incident_of(rt, service=service)
    if incident is None:
        return rt.config.channels.default, None
    return incident.channel, thread_by_key(incident.root_key)


async def _tell(rt: Runtime, request_id: str, line: str) -> None:
    """Say what the console did where the request's story is told in Slack."""
    async with writing(rt.sessions) as session:
        row = await session.get(ActionRequest, request_id)
        if row is None:
            return
        message = Message(text=line)
        if row.thread_ts:
            await notify.in_thread(session, rt, row, message)
        else:
            notify.announce(session, rt, row.channel_id, message)
    rt.wake_outbox()


def _said(who: ConsoleCaller, did: str, row_text: str) -> str:
    return f":computer: {escape(who.login)} (console) {did} {row_text}"


async def request_action(
    rt: Runtime,
    who: ConsoleCaller,
    *,
    action: str,
    service: str,
    params: dict[str, ParamValue],
    reason: str | None,
    break_glass: bool,
) -> Answer:
    spec = CATALOG.get(action)
    if spec is None or spec.fleet_action is None:
        raise ConsoleError(400, "invalid", f"no action named {action!r}")
    verb = "fleet.break-glass" if break_glass else f"fleet.{action}"
    await _permit(rt, who, verb, action, f"{action} {service} {params} -- {reason or ''}")
    channel, thread = await _where(rt, service)
    draft = flow.Draft(
        action=action,
        target=service,
        params=params,
        requester=person(who),
        channel_id=channel,
        idempotency_key=f"console:{uuid.uuid4().hex}",
        reason=reason,
        thread_ts=thread,
        break_glass=break_glass,
    )
    answer = await flow.submit(rt, draft)
    async with rt.sessions() as session:
        request_id = await session.scalar(
            select(ActionRequest.id).where(ActionRequest.idempotency_key == draft.idempotency_key)
        )
    if request_id is not None:
        await _tell(rt, request_id, _said(who, "requested", f"{action} {escape(service)}"))
    return Answer(plain(answer), request=request_id)


Decide = Callable[[Runtime, str, Person], Awaitable[Message]]
DECISIONS: dict[str, tuple[str, Decide, str]] = {
    "confirm": ("fleet.confirm", confirm.confirm, "confirmed"),
    "approve": ("fleet.decide", approval_decision.approve, "approved"),
    "deny": ("fleet.decide", approval_decision.deny, "denied"),
}


async def decide(rt: Runtime, who: ConsoleCaller, word: str, request_id: str) -> Answer:
    verb, run, did = DECISIONS[word]
    await _permit(rt, who, verb, word, request_id)
    async with rt.sessions() as session:
        row = await session.get(ActionRequest, request_id)
    if row is None:
        raise ConsoleError(404, "not_found", f"no request {request_id!r}")
    before = row.state
    answer = await run(rt, request_id, person(who))
    async with rt.sessions() as session:
        after = await session.scalar(
            select(ActionRequest.state).where(ActionRequest.id == request_id)
        )
    if after != before:  # the guard chain let it through: say so where Slack shows it
        await _tell(rt, request_id, _said(who, did, f"{row.action} {escape(row.target)}"))
    return Answer(plain(answer), request=request_id, data={"state": after.value if after else None})
