"""The tables of guarded actions: requests, approvals and per-resource locks.

`action_requests.idempotency_key` is UNIQUE: a Slack retry, a double click or a second
replica that sees the same request finds the row instead of making another. Every state
change is a conditional UPDATE (`... WHERE id = ? AND state = ?`) whose row count says who
won, so two replicas never both act on one move (`bot.actions.moves.move`); the states
and the moves between them are `bot.actions.lifecycle`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from bot.actions.lifecycle import FINISHED, PENDING, RUNNING, RequestState
from bot.db.models import Base, BigIntId
from bot.db.types import UTCDateTime

__all__ = [
    "FINISHED",
    "PENDING",
    "RUNNING",
    "ActionApproval",
    "ActionRequest",
    "RequestState",
    "ResourceLock",
    "StateText",
]


class StateText(TypeDecorator[RequestState]):
    """A request's state: its plain string in the column (no migration), typed when read."""

    impl = String(16)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else RequestState(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> RequestState | None:
        return None if value is None else RequestState(value)


class ActionRequest(Base):
    __tablename__ = "action_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    params_hash: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(200))
    params: Mapped[str] = mapped_column(Text)  # canonical JSON
    reason: Mapped[str | None] = mapped_column(Text)
    requester_id: Mapped[str] = mapped_column(String(40))
    requester_name: Mapped[str] = mapped_column(String(200))
    channel_id: Mapped[str] = mapped_column(String(40))
    # The thread the request came from (an incident thread), when it came from one.
    thread_ts: Mapped[str | None] = mapped_column(String(40))
    state: Mapped[RequestState] = mapped_column(StateText())
    risk: Mapped[str] = mapped_column(String(8))
    break_glass: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_confirmation: Mapped[bool] = mapped_column(Boolean, default=False)
    # The public card (approval or announcement) was posted: later steps edit it.
    card_posted: Mapped[bool] = mapped_column(Boolean, default=False)
    approvals_required: Mapped[int] = mapped_column(Integer, default=0)
    rule_index: Mapped[int | None] = mapped_column(Integer)
    plan: Mapped[str | None] = mapped_column(Text)  # the previewed plan, JSON
    plan_digest: Mapped[str | None] = mapped_column(String(64))
    operation_id: Mapped[str | None] = mapped_column(String(120))
    progress: Mapped[str | None] = mapped_column(String(64))  # digest of the last shown progress
    detail: Mapped[str | None] = mapped_column(Text)  # why it was denied / failed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Break-glass run by one person alone: when a second person was asked to review it,
    # and who did (bot/actions/review.py). Asked and not reviewed: "Needs review".
    review_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_by: Mapped[str | None] = mapped_column(String(40))
    reviewed_by_name: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The campaign this request is one target of (bot/campaigns): its Slack words go to
    # the campaign's card, not to a card of its own (bot/actions/notify.py).
    campaign_id: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_action_requests_idempotency_key"),
        Index("ix_action_requests_state", "state"),
        Index("ix_action_requests_target_created", "target", "created_at"),
        Index("ix_action_requests_operation", "operation_id"),
        Index("ix_action_requests_review", "review_asked_at", "reviewed_at"),
        Index("ix_action_requests_campaign", "campaign_id"),
    )


class ActionApproval(Base):
    """One person's decision on one request, bound to the parameters they saw."""

    __tablename__ = "action_approvals"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(32))
    approver_id: Mapped[str] = mapped_column(String(40))
    approver_name: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(8))  # approve | deny
    params_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    # One decision per person per request: a second click is not a second approval.
    __table_args__ = (UniqueConstraint("request_id", "approver_id", name="uq_action_approval"),)


class ResourceLock(Base):
    """A lease on one service: who holds it, since when, until when."""

    __tablename__ = "action_locks"

    resource: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[str] = mapped_column(String(40))
    owner_name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
