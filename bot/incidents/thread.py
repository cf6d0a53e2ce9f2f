"""An incident's Slack thread through the outbox: the root, kept current, and its replies.

Coalescing: a root edit or a "new alerts" reply still waiting in the outbox is replaced by
the next change: the waiting row is marked `superseded` (a conditional UPDATE by id; the
worker only sends `pending` rows) and a new one queued, so a burst of pages costs one
message per incident, not one per page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import outbox
from bot.audit.actors import Actor
from bot.audit.hash_chain import KeyRing
from bot.audit.writer import NewEntry, append_many
from bot.db.models import OutboxMessage
from bot.incidents.incident_blocks import Suggestion, Suggestions, incident_root, page_lines_reply
from bot.incidents.models import Incident, Storm
from bot.outbox import Message
from bot.outbox.enqueue import SUPERSEDED
from bot.runtime import Runtime

MAX_LINES = 10
# Outbox rows replaced by a newer one before they were sent; the worker passes them by.


def suggestions_for(rt: Runtime, incident: Incident) -> Suggestions:
    """The repair actions `suggested_actions` offers for the incident's alertname, with
    parameters filled from its labels; one whose label is missing is left out."""
    labels: dict[str, str] = json.loads(incident.labels or "{}")
    alertname = labels.get("alertname", incident.title)
    found: list[Suggestion] = []
    for pattern, offered in rt.config.suggested_actions.items():
        if not fnmatchcase(alertname, pattern):
            continue
        for text in offered:
            action, *pairs = text.split()
            try:
                params = tuple(
                    (k, v.format_map(labels)) for k, _, v in (p.partition("=") for p in pairs)
                )
            except (KeyError, ValueError, IndexError):
                continue
            suggestion = Suggestion(action, params)
            if suggestion not in found:
                found.append(suggestion)
    return Suggestions(tuple(found))


def root_message(rt: Runtime, incident: Incident) -> Message:
    # Mentions stay in the text of edits too: Slack notifies on the first post only.
    return incident_root(
        incident, now=rt.clock(), suggestions=suggestions_for(rt, incident), with_mentions=True
    )


def thread_key_of(incident: Incident) -> str | None:
    if incident.has_thread:
        return incident.root_key
    if incident.storm_id is not None:
        return f"storm:{incident.storm_id}"
    return None


@dataclass
class ThreadWriter:
    """Outbox writes of one transaction; `finish()` before commit records the row ids."""

    session: AsyncSession
    rt: Runtime
    _track: list[tuple[Incident | Storm, str, OutboxMessage]] = field(default_factory=list)
    _keys: KeyRing | None = None
    wrote: bool = False

    async def _supersede(self, row_id: int | None) -> bool:
        """Take a still-pending row of ours out of the lane; True when it was still pending.

        The row is replaced by a new one rather than rewritten in place: a worker that has
        already read it may still send it, and then the newer row follows it, so what the
        channel shows last is always the latest."""
        if row_id is None:
            return False
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.status == "pending")
            .values(status=SUPERSEDED)
        )
        return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]

    def post_root(self, target: Incident | Storm, message: Message) -> None:
        # Never superseded: replies queued behind it must find it posted first.
        outbox.post(
            self.session, channel=target.channel, message=message, key=target.root_key,
            clock=self.rt.clock,
        )  # fmt: skip
        self.wrote = True

    async def update_root(self, target: Incident | Storm, message: Message) -> None:
        """Edit the root in place; an edit of it still waiting is replaced by this one."""
        self.wrote = True
        await self._supersede(target.pending_update_id)
        row = await outbox.update(
            self.session, channel=target.channel, key=target.root_key, message=message,
            clock=self.rt.clock,
        )  # fmt: skip
        self._track.append((target, "pending_update_id", row))

    async def refresh_incident(self, incident: Incident) -> None:
        incident.root_stale = False
        if incident.has_thread:
            await self.update_root(incident, root_message(self.rt, incident))

    def defer(self, incident: Incident, lines: list[str]) -> None:
        """Note what the thread should say; the announcer says it (root and lines)."""
        if lines:
            state = json.loads(incident.unsent_lines or '{"lines": [], "more": 0}')
            merged = _merge(state["lines"], state["more"], lines)
            incident.unsent_lines = json.dumps({"lines": merged[0], "more": merged[1]})
        incident.root_stale = True

    async def flush_unsent(self, incident: Incident) -> None:
        """The alert lines ingest deferred, into the thread now (one reply, coalesced)."""
        if incident.unsent_lines:
            state = json.loads(incident.unsent_lines)
            incident.unsent_lines = None
            lines = state["lines"] + ([f"… and {state['more']} more"] if state["more"] else [])
            await self.add_page_lines(incident, lines)

    def reply(self, incident: Incident, message: Message) -> None:
        key = thread_key_of(incident)
        if key is not None:
            self.reply_to(incident.channel, key, message)

    def reply_to(self, channel: str, thread_key: str, message: Message) -> None:
        outbox.post(
            self.session, channel=channel, message=message, thread_key=thread_key,
            clock=self.rt.clock,
        )  # fmt: skip
        self.wrote = True

    async def add_page_lines(self, incident: Incident, lines: list[str]) -> None:
        """New or resolved alerts as one reply, merged with the reply still waiting if any."""
        if not lines or not incident.has_thread:
            return
        merged = _merge([], 0, lines)
        if incident.pending_lines and await self._supersede(incident.pending_reply_id):
            state = json.loads(incident.pending_lines)
            merged = _merge(state["lines"], state["more"], lines)
        row = outbox.post(
            self.session, channel=incident.channel, message=page_lines_reply(*merged),
            thread_key=incident.root_key, clock=self.rt.clock,
        )  # fmt: skip
        incident.pending_lines = json.dumps({"lines": merged[0], "more": merged[1]})
        self._track.append((incident, "pending_reply_id", row))
        self.wrote = True

    async def audit(
        self,
        *,
        actor: Actor,
        action: str,
        target: str,
        outcome: str,
        ref: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> int | None:
        """An audit row in this transaction; the bot runs without an audit key (warned at
        start), and then records nothing. Call late: the chain head stays locked to commit."""
        entry = NewEntry(
            actor=actor, action=action, target=target, outcome=outcome, ref=ref, params=params
        )
        seqs = await self.audit_many([entry])
        return seqs[0] if seqs else None

    async def audit_many(self, entries: list[NewEntry]) -> list[int]:
        """Several audit rows in order, in one append (`audit` says when it records)."""
        audit = self.rt.config.audit
        if audit.key is None or not entries:
            return []
        if self._keys is None:
            self._keys = KeyRing.from_config(audit)
        records = await append_many(
            self.session,
            key=self._keys,
            entries=[replace(e, target=e.target[:300]) for e in entries],
            clock=self.rt.clock,
        )
        return [r.seq for r in records]

    async def finish(self) -> None:
        if self._track:
            await self.session.flush()
            for target, attribute, row in self._track:
                setattr(target, attribute, row.id)
            self._track.clear()


def _merge(lines: list[str], more: int, new: list[str]) -> tuple[list[str], int]:
    room = max(0, MAX_LINES - len(lines))
    return lines + new[:room], more + max(0, len(new) - room)


def audit_target(incident: Incident) -> str:
    # Handoff summaries count "noisiest" by target: the service, else the title.
    return incident.service or incident.title
