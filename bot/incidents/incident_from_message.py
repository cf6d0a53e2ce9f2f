"""The message shortcut "Open incident from this message": an incident whose thread
links the message it was opened from (docs/incidents.md, "From a message").

The permission step judges it as `/incident new` (verb `incident.open`, surface
"shortcut") and the incident's opening is audited as any other. The message's words are
the title, escaped wherever shown; the link is Slack's own permalink, checked for shape
(bot/permalinks.py).
"""

from __future__ import annotations

from bot import messages
from bot.incidents import service
from bot.interactions import Shortcut
from bot.outbox import Message
from bot.permalinks import permalink_of
from bot.runtime import Runtime

SHORTCUT_ID = "incident_from_message"
TITLE_KEPT = 150


async def open_from_message(shortcut: Shortcut, rt: Runtime) -> Message:
    link = await permalink_of(rt, shortcut.channel_id, shortcut.message_ts)
    if link is None:
        return Message(text=messages.SHORTCUT_NO_PERMALINK)
    title = messages.incident_from_message_title(shortcut.message_text)[:TITLE_KEPT]
    incident = await service.open_manual(
        rt, title=title, user=shortcut.user_id, channel=shortcut.channel_id, message_link=link
    )
    return Message(text=messages.incident_opened_answer(incident.id))
