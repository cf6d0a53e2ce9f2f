"""Slack's permalink of a message, asked straight away (someone is waiting for it).

Only a link of the shape Slack answers is returned, since the caller puts it inside a
`<…|…>` link: https://<workspace>.slack.com/archives/C…/p…, with an optional thread query.
"""

from __future__ import annotations

import logging
import re

from bot.runtime import Runtime
from integrations.slack.errors import SlackError

log = logging.getLogger(__name__)

_PERMALINK = re.compile(
    r"https://[a-z0-9][a-z0-9.-]{0,200}/archives/[A-Z0-9]{2,30}/p[0-9]{6,30}"
    r"(\?[A-Za-z0-9=&._-]{0,200})?"
)


async def permalink_of(rt: Runtime, channel: str, ts: str) -> str | None:
    web = rt.slack_direct
    if web is None or not channel or not ts:
        return None
    try:
        answer = await web.call("chat.getPermalink", {"channel": channel, "message_ts": ts})
    except SlackError as exc:
        log.warning("chat.getPermalink failed: %s", exc)
        return None
    link = answer.get("permalink")
    return link if isinstance(link, str) and _PERMALINK.fullmatch(link) else None
