"""Who and what belongs to an incident: the incident behind a Slack thread, and whether a
person is "in" it (for guarded actions whose policy says `require_incident`)."""

from __future__ import annotations

from sqlalchemy import or_, select

from bot.db.models import PostedMessage
from bot.incidents.models import OPEN_STATES, Incident, IncidentNote, Storm
from bot.mentions import mention_user, mentioned_groups
from bot.permissions.scope import IncidentRef
from bot.runtime import MembershipQuestion, Runtime


async def thread_owner(rt: Runtime, channel: str, thread_ts: str) -> tuple[str, int] | None:
    """("incident" | "storm", id) of the thread rooted at `thread_ts`, if it is ours.

    Other areas alias the same message under keys of their own, so only our prefixes count.
    """
    async with rt.sessions() as session:
        keys = await session.scalars(
            select(PostedMessage.key).where(
                PostedMessage.channel == channel,
                PostedMessage.ts == thread_ts,
                or_(PostedMessage.key.like("incident:%"), PostedMessage.key.like("storm:%")),
            )
        )
        for key in keys:
            kind, _, number = key.partition(":")
            if number.isdecimal():
                return kind, int(number)
    return None


async def incident_member(rt: Runtime, asked: MembershipQuestion) -> bool:
    """True when an open incident the request belongs to (by its thread, else by its target
    service) counts the requester in: they acknowledged it, own it, opened it, wrote in its
    timeline, or its route mentions them by name or through a user group."""
    ids: list[int] = []
    if asked.thread_ts:
        found = await thread_owner(rt, asked.channel_id, asked.thread_ts)
        if found is not None and found[0] == "incident":
            ids.append(found[1])
    user = asked.user_id
    async with rt.sessions() as session:
        query = select(Incident).where(Incident.status.in_(OPEN_STATES))
        query = query.where(Incident.id.in_(ids) if ids else Incident.service == asked.service)
        for incident in await session.scalars(query.limit(20)):
            people = {incident.acknowledged_by, incident.assignee, incident.opened_by}
            if user in people or mention_user(user) in incident.mentions:
                return True
            # A user group the route mentioned counts its members, as Slack lists them now.
            groups = mentioned_groups(incident.mentions)
            if any(user in rt.usergroups.members_of(g) for g in groups):
                return True
            wrote = await session.scalar(
                select(IncidentNote.id)
                .where(IncidentNote.incident_id == incident.id, IncidentNote.author == user)
                .limit(1)
            )
            if wrote is not None:
                return True
    return False


async def incident_channel(rt: Runtime, ref: IncidentRef) -> str | None:
    """The channel the incident (or storm) lives in; None when there is no such one."""
    table = Incident if ref.kind == "incident" else Storm
    async with rt.sessions() as session:
        return await session.scalar(select(table.channel).where(table.id == ref.id))
