"""One step for every state change of a request: `move`, inside the caller's transaction.

A move is a conditional UPDATE (`WHERE id = ? AND state IN (expected)`) whose row count
says whether this caller won; the loser does nothing. That is the whole exactly-once
story for two replicas, double clicks and Slack retries. The winner, in the same
transaction, releases the target's lease when the request is finished, writes the move's
audit rows and queues its Slack messages, so none of them exists without the move. The
caller commits (`bot.db.unit_of_work.writing`) and then wakes the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from bot import messages as m
from bot.actions import action_blocks, notify
from bot.actions.guard_chain import Person
from bot.actions.journal import record
from bot.actions.lifecycle import FINISHED, IllegalMove, RequestState, check_move
from bot.actions.models import ActionRequest
from bot.actions.store import release_lock
from bot.audit.writer import AuditRecord
from bot.outbox import Message
from bot.runtime import Runtime


@dataclass(frozen=True)
class AuditStep:
    """One audit row of a move (`bot.actions.journal.record`)."""

    actor: Person
    action: str
    outcome: str
    extra: Mapping[str, Any] = field(default_factory=dict)
    ref: str | None = None
    # A move that finishes the request releases its lease, and the row says whether it
    # held one (`lock_released`); False for a row that is not about the lease (a second
    # row of the same move, a lapsed confirmation).
    lock_fact: bool = True


@dataclass(frozen=True)
class Say:
    """What a move tells Slack: the public card's new status, a reply in the request's
    thread, the progress message edited in place (queued in that order)."""

    card: str | None = None
    thread: Message | None = None
    progress: Message | None = None


def expired_say(row: ActionRequest, card: str = m.ACTION_REQUEST_EXPIRED) -> Say | None:
    """What a lapsed request tells Slack: its card says so, and an approval request says so
    in its thread too, where the people asked to approve were mentioned."""
    if not row.card_posted:
        return None
    lapsed = Message(text=m.approval_lapsed(row.action, row.target))
    return Say(card=card, thread=lapsed if row.approvals_required else None)


@dataclass(frozen=True)
class Moved:
    """Whether this caller won the move, and what the winner wrote with it."""

    won: bool
    audits: tuple[AuditRecord, ...] = ()
    lock_released: bool = False

    def __bool__(self) -> bool:
        return self.won

    @property
    def seq(self) -> int:
        """The move's (first) audit row, as thread messages cite it."""
        return self.audits[0].seq


async def move(
    session: AsyncSession,
    rt: Runtime,
    row: ActionRequest | str,
    *,
    to: RequestState,
    expect: Iterable[RequestState],
    where: Sequence[ColumnElement[bool]] = (),
    facts: Mapping[str, Any] | None = None,
    audit: AuditStep | Sequence[AuditStep] = (),
    say: Say | Callable[[Moved], Say] | None = None,
) -> Moved:
    """Move `row` from one of the `expect`ed states to `to`, writing `facts` with it.

    Raises `IllegalMove` for a move `bot.actions.lifecycle.MOVES` does not have. A request
    given by id alone only moves (the execution claim reads the row after it won): lease,
    audit rows and messages need the row. `say` may be a function of the move, for
    messages that cite its audit rows.
    """
    froms = check_move(expect, to)
    steps = (audit,) if isinstance(audit, AuditStep) else tuple(audit)
    if isinstance(row, str) and (steps or say is not None or to in FINISHED):
        raise IllegalMove(f"a move to {to} by request id alone")
    values = {"state": to, "updated_at": rt.clock(), **(facts or {})}
    request_id = row if isinstance(row, str) else row.id
    if not await _update(session, request_id, froms, where, values):
        return Moved(won=False)
    if isinstance(row, str):
        return Moved(won=True)
    finishing = to in FINISHED
    released = finishing and await release_lock(session, row.target, row.id)
    audits = [
        await _record(session, rt, row, step, released if finishing else None) for step in steps
    ]
    moved = Moved(won=True, audits=tuple(audits), lock_released=released)
    for key, value in values.items():  # the winner's row shows the move; no second UPDATE
        set_committed_value(row, key, value)
    if say is not None:
        await _tell(session, rt, row, say if isinstance(say, Say) else say(moved))
    return moved


async def _update(
    session: AsyncSession,
    request_id: str,
    froms: tuple[RequestState, ...],
    where: Sequence[ColumnElement[bool]],
    values: Mapping[str, Any],
) -> bool:
    done = await session.execute(
        update(ActionRequest)
        .where(ActionRequest.id == request_id, ActionRequest.state.in_(froms), *where)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(done.rowcount or 0) == 1  # type: ignore[attr-defined]


async def _record(
    session: AsyncSession, rt: Runtime, row: ActionRequest, step: AuditStep, released: bool | None
) -> AuditRecord:
    extra = dict(step.extra)
    if released is not None and step.lock_fact:
        extra["lock_released"] = released
    return await record(
        session,
        rt,
        actor=step.actor,
        action=step.action,
        row=row,
        outcome=step.outcome,
        ref=step.ref,
        extra=extra,
    )


async def _tell(session: AsyncSession, rt: Runtime, row: ActionRequest, say: Say) -> None:
    if say.progress is not None:
        await notify.update_progress(session, rt, row, say.progress)
    if say.thread is not None:
        await notify.in_thread(session, rt, row, say.thread)
    if say.card is not None:
        await notify.update_card(session, rt, row, action_blocks.card(row, say.card))
