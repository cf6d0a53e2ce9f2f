"""The life of a guarded-action request: its states, and the one table of moves between them.

requested ─► previewed ─► confirmed ─► approved ─► executing ─► succeeded | failed | cancelled
   │            │            │            │            └─► unknown ─► executing | failed
   └────────────┴────────────┴────────────┴─► denied | cancelled | expired

`MOVES` is the whole lifecycle: a move it does not list is a programming error
(`IllegalMove`), raised before anything is written. Losing a move to another replica, a
double click or a Slack retry is not an error: `bot.actions.moves.move` says who won.
The states are stored as their plain strings (a `StrEnum`), so the column needs no
migration and old rows read back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType


class RequestState(StrEnum):
    REQUESTED = "requested"
    PREVIEWED = "previewed"
    CONFIRMED = "confirmed"
    APPROVED = "approved"
    EXECUTING = "executing"
    UNKNOWN = "unknown"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DENIED = "denied"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


S = RequestState

PENDING: frozenset[RequestState] = frozenset({S.REQUESTED, S.PREVIEWED, S.CONFIRMED, S.APPROVED})
RUNNING: frozenset[RequestState] = frozenset({S.EXECUTING, S.UNKNOWN})
FINISHED: frozenset[RequestState] = frozenset(
    {S.SUCCEEDED, S.FAILED, S.DENIED, S.CANCELLED, S.EXPIRED}
)

# Before anything ran, the chain may deny a request, its requester (or someone the policy
# permits) may cancel it, and it lapses when nobody confirms or approves it in time.
_STOPPED = frozenset({S.DENIED, S.CANCELLED, S.EXPIRED})

MOVES: Mapping[RequestState, frozenset[RequestState]] = MappingProxyType(
    {
        # previewed: needs the requester's confirmation; confirmed: the approval card is
        # posted straight away; approved: nothing to ask anyone.
        S.REQUESTED: frozenset({S.PREVIEWED, S.CONFIRMED, S.APPROVED, *_STOPPED}),
        S.PREVIEWED: frozenset({S.CONFIRMED, *_STOPPED}),
        # confirmed → confirmed: the confirm click moved it, posting the approval card is
        # the step (it sets `card_posted`, once).
        S.CONFIRMED: frozenset({S.CONFIRMED, S.APPROVED, *_STOPPED}),
        # approved → executing is the execution claim: it decides who calls the fleet.
        S.APPROVED: frozenset({S.EXECUTING, *_STOPPED}),
        # executing → executing records the operation id, or a new progress digest.
        # unknown: the start or the fleet gave no clear answer; reconciliation asks.
        S.EXECUTING: frozenset({S.EXECUTING, S.UNKNOWN, S.SUCCEEDED, S.FAILED, S.CANCELLED}),
        # Found on the fleet again: tracked; gone from a fleet that answers: failed. Never
        # succeeded unseen (bot.actions.reconcile).
        S.UNKNOWN: frozenset({S.EXECUTING, S.FAILED}),
        **{state: frozenset[RequestState]() for state in FINISHED},
    }
)


class IllegalMove(Exception):
    """A move the lifecycle does not have: a bug in the caller, not a lost race."""


def check_move(expect: Iterable[RequestState], to: RequestState) -> tuple[RequestState, ...]:
    """The expected from-states, each checked against `MOVES`; raises `IllegalMove`."""
    froms = tuple(RequestState(state) for state in expect)
    if not froms:
        raise IllegalMove(f"a move to {to} from no state")
    for state in froms:
        if to not in MOVES[state]:
            raise IllegalMove(f"{state} → {to} is not a move of the request lifecycle")
    return froms
