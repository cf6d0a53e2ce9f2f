"""Publishing a person's App Home through the outbox, coalesced.

A publish is an outbox row (`views.publish`, one lane per person), so a Slack outage
delays it and loses nothing; a newer publish for the same person supersedes one still
waiting, so a burst of changes costs one call. Refreshes run off the request's path
(`rt.background`), once per person at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from sqlalchemy import update

from bot.db.models import OutboxMessage
from bot.db.unit_of_work import writing
from bot.home.content import home_facts
from bot.home.home_blocks import home_view
from bot.outbox import Message
from bot.outbox.enqueue import SUPERSEDED, publish_view
from bot.permissions.roles import known_people
from bot.runtime import Runtime

# Between two refreshes of one person's Home when changes keep coming.
REFRESH_PAUSE_SECONDS = 1.0


def lane(user: str) -> str:
    return f"home:{user}"


async def publish(rt: Runtime, user: str, notice: Message | None = None) -> None:
    view = home_view(await home_facts(rt, user), notice)
    async with writing(rt.sessions) as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.lane == lane(user), OutboxMessage.status == "pending")
            .values(status=SUPERSEDED)
        )
        publish_view(session, lane=lane(user), user=user, view=view, clock=rt.clock)
    rt.wake_outbox()


async def home_opened(rt: Runtime, event: Mapping[str, Any]) -> None:
    """`app_home_opened`: publish the Home tab (its Messages tab needs nothing from us)."""
    user = event.get("user")
    if event.get("tab", "home") == "home" and isinstance(user, str) and user:
        await publish(rt, user)


async def answer_in_home(rt: Runtime, user: str, answer: Message) -> None:
    await publish(rt, user, notice=answer)


def refresh_homes(rt: Runtime, users: Iterable[str]) -> None:
    """Republish the Home of each of `users` the configuration names (the people who can
    be on call, approve or be assigned), soon and once per burst."""
    known = known_people(rt.config)
    for user in sorted(set(users) & known):
        rt.background.coalesce(f"home:{user}", partial(publish, rt, user), REFRESH_PAUSE_SECONDS)
