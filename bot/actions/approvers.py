"""Who is asked to approve a request, and how they hear of it (docs/actions.md, "Who is
asked to approve").

The approving roles (the rule's `approval.roles`, else its `roles`) resolved to people: those
of them on call now in any rotation are mentioned on the card and sent a direct message
with a link to it. When none of them is on call, the roles' Slack user groups are mentioned
instead (and their members messaged); a role with no group falls back to its listed users.
The requester is never asked. At half the approval window, whoever is asked then is
mentioned once more in the card's thread (`remind_due`, a leader-only scheduled job).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import block_kit as b
from bot import messages as m
from bot import outbox
from bot.actions import notify
from bot.actions.lifecycle import RequestState
from bot.actions.models import ActionRequest
from bot.actions.policy import ApprovalPolicy
from bot.db.models import OutboxMessage
from bot.db.unit_of_work import writing
from bot.mentions import mention_group, mention_user
from bot.oncall.pagerduty import ScheduleUnavailable
from bot.oncall.roster import is_slack_user
from bot.outbox import Message
from bot.permissions.usergroups import role_book
from bot.runtime import Runtime

log = logging.getLogger(__name__)

# Direct messages per request at most: a large group is mentioned, not messaged one by one.
MAX_DIRECT = 10


@dataclass(frozen=True)
class Approvers:
    """Who is asked: people (user ids) and user groups (S…), for mentions; `direct` for DMs."""

    people: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    direct: tuple[str, ...] = ()

    def mentions(self) -> str:
        return " ".join([*map(mention_group, self.groups), *map(mention_user, self.people)])


async def on_call_now(rt: Runtime, session: AsyncSession, now: datetime) -> set[str]:
    """The Slack users on call now in any rotation (cached schedules only)."""
    found: set[str] = set()
    for rotation in rt.config.oncall.rotations:
        try:
            person = (await rt.rosters.cached(session, rotation, now)).on_call(now)
        except ScheduleUnavailable as exc:
            log.warning("on-call of %s unknown for approvals: %s", rotation.name, exc)
            continue
        if person is not None and is_slack_user(person):
            found.add(person)
    return found


async def approvers_for(
    rt: Runtime, session: AsyncSession, roles: list[str], requester: str, now: datetime
) -> Approvers:
    book = role_book(rt)
    holders = sorted({p for role in roles for p in book.people(role)} - {requester})
    on_call = await on_call_now(rt, session, now)
    awake = [p for p in holders if p in on_call]
    if awake:
        return Approvers(people=tuple(awake), direct=tuple(awake[:MAX_DIRECT]))
    groups = sorted({g for role in roles if role in book for g in book[role].usergroups})
    if groups:
        members = sorted({p for g in groups for p in book.groups.get(g, ())} - {requester})
        return Approvers(groups=tuple(groups), direct=tuple(members[:MAX_DIRECT]))
    return Approvers(people=tuple(holders), direct=tuple(holders[:MAX_DIRECT]))


def asking(asked: Approvers, text: str) -> Message:
    """`text` with who is asked as a context block on top, where Slack shows it."""
    who = asked.mentions()
    top = [b.context(m.approvers_line(who))] if who else []
    return Message(text=f"{who} {text}".strip(), blocks=[*top, b.section(text)])


def reminder_key(request_id: str) -> str:
    return f"act:{request_id}:remind"


def ask_directly(session: AsyncSession, rt: Runtime, row: ActionRequest, asked: Approvers) -> None:
    """A direct message to each person asked, linking the card (its permalink is asked of
    Slack by the outbox when the card is posted: bot/outbox/worker.py)."""
    text = m.approval_dm(row.requester_id, row.action, row.target, outbox.LINK_SLOT)
    for person in asked.direct:
        outbox.post_linking(
            session,
            channel=person,
            message=Message(text=text),
            link_key=notify.card_key(row.id),
            clock=rt.clock,
        )


def _policy(rt: Runtime, row: ActionRequest) -> ApprovalPolicy:
    rules = rt.config.policies.rules
    if row.rule_index is not None and 0 <= row.rule_index < len(rules):
        return rt.config.policies.approval_for(rules[row.rule_index])
    return rt.config.policies.approval


def remind_at(rt: Runtime, row: ActionRequest) -> datetime | None:
    """Half-way through the approval window (it ends at `expires_at`)."""
    if row.expires_at is None:
        return None
    return row.expires_at - timedelta(minutes=_policy(rt, row).expires_minutes / 2)


def approving_roles(rt: Runtime, row: ActionRequest) -> list[str]:
    rules = rt.config.policies.rules
    if row.rule_index is None or not 0 <= row.rule_index < len(rules):
        return []
    rule = rules[row.rule_index]
    return list(rt.config.policies.approval_for(rule).roles or rule.roles)


async def remind_due(rt: Runtime) -> int:
    """Mention the approvers once more at half the window of each open approval request.
    The reminder's outbox row (keyed `act:<id>:remind`) is the durable mark that it was
    sent: a restart or the next leader does not send it twice."""
    now = rt.clock()
    async with rt.sessions() as session:
        reminded = select(OutboxMessage.id).where(
            OutboxMessage.message_key == "act:" + ActionRequest.id + ":remind"
        )
        rows = list(
            await session.scalars(
                select(ActionRequest).where(
                    ActionRequest.state == RequestState.CONFIRMED,
                    ActionRequest.card_posted.is_(True),
                    ActionRequest.approvals_required > 0,
                    ActionRequest.expires_at > now,
                    ~reminded.exists(),
                )
            )
        )
    sent = 0
    for row in rows:
        due = remind_at(rt, row)
        if due is None or due > now:
            continue
        async with writing(rt.sessions) as session:
            # The request row locked: a second run (a lease changing hands) waits, then
            # finds the reminder written and writes none.
            locked = await session.scalar(
                select(ActionRequest.state).where(ActionRequest.id == row.id).with_for_update()
            )
            already = await session.scalar(
                select(OutboxMessage.id).where(OutboxMessage.message_key == reminder_key(row.id))
            )
            if locked != RequestState.CONFIRMED or already is not None:
                continue
            roles = approving_roles(rt, row)
            asked = await approvers_for(rt, session, roles, row.requester_id, now)
            text = m.approval_reminder(row.action, row.target, row.expires_at)
            await notify.in_thread(session, rt, row, asking(asked, text), key=reminder_key(row.id))
            sent += 1
    if sent:
        rt.wake_outbox()
    return sent
