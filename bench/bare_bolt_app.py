"""The baseline: a bare Bolt AsyncApp that only acks `/fleet`, served like the bot is; given
Slack's API URL, it also opens a modal on any button click (acked first, as the bot does),
shaped like the bot's switchover modal (bench/bench_views.py)."""

from __future__ import annotations

import re
import sys
from typing import Any

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def _authorize(enterprise_id: Any, team_id: Any, user_id: Any) -> AuthorizeResult:
    return AuthorizeResult(enterprise_id=None, team_id=team_id, bot_token="xoxb-bench")


MODAL = {
    "type": "modal",
    "callback_id": "fleet-action",
    "title": {"type": "plain_text", "text": "Switchover"},
    "submit": {"type": "plain_text", "text": "Preview"},
    "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*switchover* on `pg-orders`"}},
        {"type": "input", "block_id": "candidate",
         "label": {"type": "plain_text", "text": "Replica to promote"},
         "element": {"type": "static_select", "action_id": "value", "options": [
             {"text": {"type": "plain_text", "text": n}, "value": n}
             for n in ("pg-orders-2", "pg-orders-3")]}},
        {"type": "input", "block_id": "reason", "optional": True,
         "label": {"type": "plain_text", "text": "Reason"},
         "element": {"type": "plain_text_input", "action_id": "value", "multiline": True}},
    ],
}  # fmt: skip


def create_app(signing_secret: str, api_url: str | None = None) -> Starlette:
    bolt = AsyncApp(
        signing_secret=signing_secret,
        authorize=_authorize,
        client=AsyncWebClient(base_url=api_url) if api_url else None,
    )

    @bolt.command("/fleet")
    async def only_ack(ack: Any) -> None:
        await ack()

    if api_url:

        @bolt.action(re.compile(".+"))
        async def open_modal(ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
            await ack()
            await client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    return Starlette(routes=[Route("/slack/events", events, methods=["POST"])])


if __name__ == "__main__":
    uvicorn.run(
        create_app(sys.argv[1], sys.argv[3] if len(sys.argv) > 3 else None),
        host="127.0.0.1",
        port=int(sys.argv[2]),
        log_level="warning",
    )
