"""What a signed Slack request may make the bot do, beyond its signature.

A valid signature says the request came through our Slack app; it does not say which
workspace it came from, nor that a URL inside it leads back to Slack. Two checks here:

- `same_workspace`, Bolt middleware: a request from a workspace other than the configured
  `slack.team_id` (and `slack.enterprise_id`) is acked and never acted on; a slash command
  is told why.
- `response_url_check`: the bot posts to an interaction's `response_url` only when it
  leads to Slack (`https://hooks.slack.com/`) or to the host of `slack.api_url` (the local
  stand-in); a post anywhere else is dropped, so a forged payload cannot turn the bot into
  a client of any address it names.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import extract_enterprise_id, extract_team_id
from slack_bolt.response import BoltResponse

from bot import messages

log = logging.getLogger(__name__)

SLACK_RESPONSE_HOST = "hooks.slack.com"
_DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int | None]


def _origin(url: httpx.URL) -> Origin:
    return (url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme))


def response_url_check(api_url: str) -> Callable[[str], bool]:
    """Whether a response_url may be posted to. Parsed with httpx, the parser of the client
    that would post, so what is checked is what would be called."""
    allowed = {("https", SLACK_RESPONSE_HOST, 443), _origin(httpx.URL(api_url))}

    def trusted(response_url: str) -> bool:
        try:
            url = httpx.URL(response_url)
        except (httpx.InvalidURL, TypeError):
            url = None
        if url is not None and not url.userinfo and _origin(url) in allowed:
            return True
        # The URL itself is a credential (whoever holds it can post as the app): the host only.
        host = url.host if url is not None else "(unreadable)"
        log.warning("dropped a post to a response_url on an untrusted host %r", host[:100])
        return False

    return trusted


def _request_workspace(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    try:
        return extract_team_id(dict(body)), extract_enterprise_id(dict(body))
    except (AttributeError, KeyError, TypeError):  # a signed body of the wrong shape
        return None, None


def is_our_workspace(
    team_id: str | None, enterprise_id: str | None, *, ours: str, our_enterprise: str | None
) -> bool:
    """The configured team, or (Enterprise Grid) any team of the configured organisation;
    a request naming another organisation is never ours."""
    if enterprise_id is not None and our_enterprise is not None and enterprise_id != our_enterprise:
        return False
    return team_id == ours or (our_enterprise is not None and enterprise_id == our_enterprise)


Middleware = Callable[..., Awaitable[BoltResponse | None]]


def same_workspace(team_id: str | None, enterprise_id: str | None) -> Middleware:
    """Bolt middleware refusing requests from other workspaces (none configured: all pass)."""

    async def middleware(
        req: AsyncBoltRequest, next_: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        if team_id is None:
            await next_()
            return None
        theirs, their_enterprise = _request_workspace(req.body)
        if is_our_workspace(theirs, their_enterprise, ours=team_id, our_enterprise=enterprise_id):
            await next_()
            return None
        log.warning(
            "refused a Slack request from another workspace %r (enterprise %r)",
            str(theirs)[:32],
            str(their_enterprise)[:32],
        )
        # Acked so Slack does not retry; only a slash command's ack is shown to its user.
        text = messages.FOREIGN_WORKSPACE if "command" in req.body else ""
        return BoltResponse(status=200, body=text)

    return middleware
