"""The message shortcut "Open incident from this message": an incident whose thread
links the message it was opened from (docs/incidents.md, "From a message").

The permission step judges it as `/incident new` (verb `incident.open`, surface
"shortcut") and the incident's opening is audited as any other. The message's words are
the title, escaped wherever shown; the link is Slack's own permalink, checked for shape.
"""

from __future__ import annotations

import logging
import re

from bot import messages
from bot.incidents import service
from bot.interactions import Shortcut
from bot.outbox import Message
from bot.runtime import Runtime
from integrations.slack.errors import SlackError

log = logging.getLogger(__name__)

SHORTCUT_ID = "incident_from_message"
TITLE_KEPT = 150
# What Slack's chat.getPermalink answers: https://<workspace>.slack.com/archives/C…/p…,
# with an optional thread query. Nothing else is ever put inside a `<…|…>` link.
_PERMALINK = re.compile(
    r"https://[a-z0-9][a-z0-9.-]{0,200}/archives/[A-Z0-9]{2,30}/p[0-9]{6,30}"
    r"(\?[A-Za-z0-9=&._-]{0,200})?"
)


async def permalink_of(rt: Runtime, channel: str, ts: str) -> str | None:
    """Slack's permalink of the message, asked straight away (the person is waiting)."""
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


async def open_from_message(shortcut: Shortcut, rt: Runtime) -> Message:
    link = await permalink_of(rt, shortcut.channel_id, shortcut.message_ts)
    if link is None:
        return Message(text=messages.SHORTCUT_NO_PERMALINK)
    title = messages.incident_from_message_title(shortcut.message_text)[:TITLE_KEPT]
    incident = await service.open_manual(
        rt, title=title, user=shortcut.user_id, channel=shortcut.channel_id, message_link=link
    )
    return Message(text=messages.incident_opened_answer(incident.id))
