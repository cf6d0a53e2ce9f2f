"""The kill switch, as service functions: pause and resume (audited, announced) and the
status `/fleet automation` shows. The state lives in the database, so it holds for every
replica and across restarts."""

from __future__ import annotations

from sqlalchemy import select

from bot import messages as m
from bot import outbox
from bot.audit import vocabulary as v
from bot.audit.actors import Actor
from bot.automation.models import AutomationRun
from bot.automation.report import switch_line
from bot.automation.store import set_paused, switch_state
from bot.db.unit_of_work import writing
from bot.incidents.thread import ThreadWriter
from bot.mentions import code
from bot.outbox import Message
from bot.permissions.roles import known_people
from bot.runtime import Runtime

RECENT_SHOWN = 8


async def switch(rt: Runtime, *, paused: bool, user: str, name: str, reason: str | None) -> str:
    """Who may switch is the `automation.pause` / `automation.resume` rule of `permissions:`,
    decided by the permission step before the command gets here."""
    async with writing(rt.sessions, reads_decide=True) as session:
        await set_paused(session, paused=paused, by=user, now=rt.clock(), reason=reason)
        w = ThreadWriter(session, rt)
        seq = await w.audit(
            actor=Actor.slack(user, name), action=v.AUTOMATION_SWITCHED, target="automation",
            outcome=v.PAUSED if paused else v.RESUMED, params={"reason": reason},
        )  # fmt: skip
        text = m.automation_switched(paused, user, seq)
        # Said where operators look, not only to the one who typed it.
        channel = rt.config.channels.ops or rt.config.channels.default
        outbox.post(session, channel=channel, message=Message(text=text), clock=rt.clock)
        await w.finish()
    rt.wake_outbox()
    # Every App Home shows whether automation runs.
    rt.homes_changed(known_people(rt.config))
    return text


async def status(rt: Runtime) -> Message:
    async with rt.sessions() as session:
        state = await switch_state(session)
        runs = list(
            await session.scalars(
                select(AutomationRun).order_by(AutomationRun.id.desc()).limit(RECENT_SHOWN)
            )
        )
    books = [
        f"• *{r.name}* ({r.mode}): {r.action} when "
        + ", ".join(f"{k}={p}" for k, p in r.match.items())
        for r in rt.config.runbooks
    ]
    recent = [f"• #{r.id} {r.runbook} · {code(r.service)} → {r.state}" for r in runs]
    return Message(text=m.automation_status(switch_line(state), books, recent))
