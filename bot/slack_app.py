"""The Bolt `AsyncApp`: slash commands, and the middleware every Slack request passes.

Each listener acks first and works after; Bolt answers Slack as soon as `ack()` is called
and lets the listener go on, so nothing slow happens inside Slack's 3 s window.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from bot import messages
from bot.audit.actors import slack_name
from bot.db.models import SlackRequest
from bot.db.unit_of_work import writing
from bot.dispatch import reply, run_click, run_command, run_shortcut, run_submission
from bot.interactions import Click, Shortcut, Submission
from bot.modals import unseal, values_of
from bot.outbox import Message
from bot.registry import Caller
from bot.runtime import Runtime
from bot.slack_trust import same_workspace
from bot.storage_outage import answered_if_storage_fails

log = logging.getLogger(__name__)

# Slack retries for at most about an hour; remembering a day is ample.
DEDUPE_WINDOW = timedelta(days=1)


def delivery_key(body: dict[str, Any]) -> str | None:
    """What makes a Slack delivery unique across its retries (and across replicas)."""
    if isinstance(body.get("event_id"), str):
        return f"event:{body['event_id']}"
    if isinstance(body.get("trigger_id"), str):
        return f"trigger:{body['trigger_id']}"
    return None


class BotIdentity:
    """The bot's user id, learnt from `auth.test` once Slack answers; never blocks a request."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.bot_user_id: str | None = None
        self.bot_id: str | None = None
        self.team_id: str | None = None

    async def authorize(
        self, enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=None,
            team_id=self.team_id,
            bot_token=self.token,
            bot_user_id=self.bot_user_id,
            bot_id=self.bot_id,
        )


async def first_delivery(rt: Runtime, body: dict[str, Any]) -> bool:
    """True the first time a Slack delivery is seen, across retries and replicas.

    Called after `ack()`, so the database write is not on Slack's 3 s path; a retry is
    acked like the original and then does nothing.
    """
    key = delivery_key(body)
    if key is None:
        return True
    try:
        async with writing(rt.sessions) as session:
            session.add(SlackRequest(key=key, received_at=rt.clock()))
    except IntegrityError:
        log.info("duplicate Slack delivery %s ignored", key)
        return False
    return True


async def forget_old_deliveries(rt: Runtime) -> int:
    async with writing(rt.sessions) as session:
        result = await session.execute(
            delete(SlackRequest).where(SlackRequest.received_at < rt.clock() - DEDUPE_WINDOW)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _command_listener(rt: Runtime, group: str) -> Callable[..., Awaitable[None]]:
    async def on_command(ack: Callable[..., Awaitable[None]], command: dict[str, Any]) -> None:
        if not rt.in_flight.has_room(rt.config.server.max_in_flight):
            # The ack carries the answer: turning a command away costs no database write.
            # Clicks and mentions are never turned away: an Approve must not be lost.
            rt.metrics.commands_turned_away.inc()
            await ack(text=messages.busy(rt.command_name(group)))
            return
        await ack()
        with rt.in_flight.held():
            if not await first_delivery(rt, command):
                return
            caller = Caller(
                user_id=str(command.get("user_id", "")),
                user_name=slack_name(str(command.get("user_name", ""))),
                channel_id=str(command.get("channel_id", "")),
                response_url=command.get("response_url"),
                trigger_id=command.get("trigger_id"),
            )
            await run_command(rt, group, str(command.get("text", "")), caller)

    return on_command


def _click_listener(rt: Runtime) -> Callable[..., Awaitable[None]]:
    async def on_click(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        await ack()
        with rt.in_flight.held():
            if not await first_delivery(rt, body):
                return
            for action in body.get("actions") or []:
                if isinstance(action, dict):
                    await run_click(rt, Click.from_payload(body, action))

    return on_click


def read_submission(rt: Runtime, body: dict[str, Any]) -> Submission | None:
    """The submission, or None when its origin is not one the bot sealed."""
    view = body.get("view") if isinstance(body.get("view"), dict) else {}
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    assert isinstance(view, dict) and isinstance(user, dict)
    origin = unseal(rt, view.get("private_metadata"))
    if origin is None:
        return None
    return Submission(
        callback_id=str(view.get("callback_id") or ""),
        view_id=str(view.get("id") or ""),
        user_id=str(user.get("id") or ""),
        user_name=slack_name(str(user.get("username") or user.get("name") or "")),
        values=values_of(view),
        origin=origin,
    )


# Shown in place of a modal whose origin the bot did not seal (forged, or sealed under a
# signing secret since rotated): nothing was done.
def _stale_form() -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Watchkeeper"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": messages.STALE_FORM}}],
    }


def _submission_listener(rt: Runtime) -> Callable[..., Awaitable[None]]:
    async def on_submission(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        submission = read_submission(rt, body)
        if submission is None:
            await ack(response_action="update", view=_stale_form())
            return
        form = rt.buttons.find_form(submission.callback_id)
        errors = form.check(submission, rt) if form is not None else {}
        if errors:
            # Shown under each field; the modal stays open and nothing is recorded.
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        with rt.in_flight.held():
            if not await first_delivery(rt, _submission_key(body, submission)):
                return
            await run_submission(rt, submission)

    return on_submission


def _submission_key(body: dict[str, Any], submission: Submission) -> dict[str, Any]:
    # A view is submitted once; Slack's retries of it carry the same view id.
    return {"event_id": f"view:{submission.view_id}"} if submission.view_id else body


def _shortcut_listener(rt: Runtime) -> Callable[..., Awaitable[None]]:
    async def on_shortcut(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        await ack()
        with rt.in_flight.held():
            if not await first_delivery(rt, body):
                return
            await run_shortcut(rt, Shortcut.from_payload(body))

    return on_shortcut


_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


async def _answer_mention(rt: Runtime, body: dict[str, Any]) -> None:
    if not await first_delivery(rt, body):
        return
    event = body.get("event") or {}
    caller = Caller(
        user_id=str(event.get("user", "")),
        user_name="",
        channel_id=str(event.get("channel", "")),
        thread_ts=event.get("thread_ts") or event.get("ts"),
    )
    # Only the bot's own mention (the first) goes: `@watchkeeper assign @bob` keeps bob.
    text = _MENTION.sub("", str(event.get("text", "")), count=1).strip()
    group = rt.commands.mention_group
    if group is None:
        await reply(rt, caller, Message(text=messages.MENTION_HELP))
        return
    await run_command(rt, group, text, caller)


def _mention_listener(rt: Runtime) -> Callable[..., Awaitable[None]]:
    async def on_mention(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        await ack()
        with rt.in_flight.held():
            await _answer_mention(rt, body)

    return on_mention


def _event_listener(rt: Runtime, kind: str) -> Callable[..., Awaitable[None]]:
    handle = rt.hooks.events[kind]

    async def on_event(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        await ack()
        with rt.in_flight.held():
            event = body.get("event")
            if isinstance(event, dict) and await first_delivery(rt, body):
                await handle(rt, event)

    return on_event


def build_bolt_app(rt: Runtime, identity: BotIdentity) -> AsyncApp:
    slack = rt.config.slack
    app = AsyncApp(
        name=slack.app_name,
        signing_secret=slack.signing_secret.get_secret_value(),
        # Bolt passes arguments by parameter name, so hand it a plain function.
        authorize=lambda enterprise_id, team_id, user_id: identity.authorize(
            enterprise_id, team_id, user_id
        ),
        client=AsyncWebClient(base_url=str(slack.api_url)),
        # Slack may send events we do not listen to; that is not an error.
        raise_error_for_unhandled_request=False,
    )
    app.use(same_workspace(slack.team_id, slack.enterprise_id))
    for group in rt.commands.groups():
        app.command(rt.command_name(group))(
            answered_if_storage_fails(rt, _command_listener(rt, group))
        )
    app.action(re.compile(".+"))(answered_if_storage_fails(rt, _click_listener(rt)))
    app.event("app_mention")(answered_if_storage_fails(rt, _mention_listener(rt)))
    for kind in rt.hooks.events:
        app.event(kind)(_event_listener(rt, kind))
    app.view(re.compile(".+"))(answered_if_storage_fails(rt, _submission_listener(rt)))
    app.shortcut(re.compile(".+"))(answered_if_storage_fails(rt, _shortcut_listener(rt)))
    return app
