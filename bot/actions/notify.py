"""Where the flow's Slack messages go, through the outbox, inside the caller's transaction.

A request has one public *card* in the channel (the approval card, or the announcement
when no approval is needed), keyed `act:<id>:card`; progress and result go in its thread.
A request made inside an incident thread posts its card and everything after into that
thread instead (Slack threads are one level deep). `replace_preview` alone opens its own
transaction: it answers a click, and changes no request.

A request that is one target of a campaign (`campaign_id`) has no card or thread of its
own: a thousand targets would be a thousand messages. Its words are dropped here, in the
one place every request's messages pass; the campaign's card shows it (bot/campaigns).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.actions.models import ActionRequest
from bot.db.models import PostedMessage
from bot.db.unit_of_work import writing
from bot.outbox import Message
from bot.runtime import Runtime


def card_key(request_id: str) -> str:
    return f"act:{request_id}:card"


def progress_key(request_id: str) -> str:
    return f"act:{request_id}:progress"


# `thread_ts` of a request made by the bot itself into a thread it knows by its outbox key
# (an incident's root may not be posted yet): `key:incident:42`.
THREAD_KEY_PREFIX = "key:"


def thread_by_key(key: str) -> str:
    return THREAD_KEY_PREFIX + key


async def _origin_thread(session: AsyncSession, row: ActionRequest) -> str | None:
    """A thread key for the incident thread the request came from, when it did."""
    if not row.thread_ts:
        return None
    if row.thread_ts.startswith(THREAD_KEY_PREFIX):
        return row.thread_ts.removeprefix(THREAD_KEY_PREFIX)
    key = f"slack-thread:{row.channel_id}:{row.thread_ts}"
    # The outbox threads replies by message key; an existing thread gets an alias key.
    await session.merge(PostedMessage(key=key, channel=row.channel_id, ts=row.thread_ts))
    return key


def _quiet(row: ActionRequest) -> bool:
    return row.campaign_id is not None


async def post_card(session: AsyncSession, rt: Runtime, row: ActionRequest, msg: Message) -> None:
    if _quiet(row):
        return
    thread = await _origin_thread(session, row)
    outbox.post(
        session,
        channel=row.channel_id,
        message=msg,
        key=card_key(row.id),
        thread_key=thread,
        clock=rt.clock,
    )


async def update_card(session: AsyncSession, rt: Runtime, row: ActionRequest, msg: Message) -> None:
    if _quiet(row):
        return
    await outbox.update(
        session, channel=row.channel_id, key=card_key(row.id), message=msg, clock=rt.clock
    )


async def in_thread(
    session: AsyncSession, rt: Runtime, row: ActionRequest, msg: Message, *, key: str | None = None
) -> None:
    """A reply in the request's thread (its card's, or the incident thread it came from)."""
    if _quiet(row):
        return
    thread = await _origin_thread(session, row) or card_key(row.id)
    outbox.post(
        session, channel=row.channel_id, message=msg, key=key, thread_key=thread, clock=rt.clock
    )


async def update_progress(
    session: AsyncSession, rt: Runtime, row: ActionRequest, msg: Message
) -> None:
    if _quiet(row):
        return
    await outbox.update(
        session, channel=row.channel_id, key=progress_key(row.id), message=msg, clock=rt.clock
    )


async def update_reply(
    session: AsyncSession, rt: Runtime, row: ActionRequest, msg: Message, *, key: str
) -> None:
    """Edit a keyed reply `in_thread` posted."""
    if _quiet(row):
        return
    await outbox.update(session, channel=row.channel_id, key=key, message=msg, clock=rt.clock)


def announce(session: AsyncSession, rt: Runtime, channel: str, msg: Message) -> None:
    outbox.post(session, channel=channel, message=msg, clock=rt.clock)


async def replace_preview(
    rt: Runtime, *, response_url: str, channel: str, user: str, message: Message
) -> None:
    """The private preview turns into `message`, so its buttons cannot be clicked twice."""
    async with writing(rt.sessions) as session:
        outbox.respond(
            session,
            response_url=response_url,
            channel=channel,
            user=user,
            message=message,
            replace_original=True,
            clock=rt.clock,
        )
    rt.wake_outbox()
