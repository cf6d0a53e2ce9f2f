"""`ingest`: a batch of pages in, stored, grouped into incidents, threads queued.

The seam with intake: `await ingest(rt, batch)` returns how many pages were new. Pages,
incident changes, outbox rows and audit rows are written in ONE transaction, so a page
is stored exactly when its consequences are; nothing here waits on the network (the
fleet's view of the service is fetched afterwards, see `followup`).

Two replicas on PostgreSQL: the page INSERT skips pages another transaction stored (and
waits for one still in flight); the incidents touched are locked in id order; a group
opened by two transactions at once trips the UNIQUE `open_key`, and the loser retries
from the start, now finding the incident open and joining it.
"""

from __future__ import annotations

import logging
import random

from sqlalchemy.exc import DBAPIError, IntegrityError
from tenacity import AsyncRetrying, before_sleep_log, retry_if_exception, stop_after_attempt

from bot.db.unit_of_work import writing
from bot.incidents import followup
from bot.incidents.ingest_apply import Outcome, apply_delivery
from bot.incidents.pagestore import Prepared, counterparts, first_delivery, insert_new
from bot.incidents.pagestore import prepare as prepare_pages
from bot.incidents.thread import ThreadWriter
from bot.runtime import Runtime
from integrations.pages import PageBatch
from integrations.retry import Retries

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# PostgreSQL deadlock and serialization failures: both mean "run the transaction again".
RETRY_SQLSTATES = {"40P01", "40001"}


async def ingest(rt: Runtime, batch: PageBatch) -> int:
    """Store a batch of pages and bring their incidents and threads up to date."""
    if not batch.pages:
        return 0
    items = prepare_pages(rt.config, batch.pages)
    outcome = await RUN_AGAIN_AFTER_LOST_RACE(_apply, rt, items, batch.delivery_id)
    if outcome.wrote:
        rt.wake_outbox()
    followup.after_ingest(
        rt, outcome.refresh, pagerduty=outcome.pagerduty, announce=outcome.announce
    )
    if outcome.firing_pages:
        for hook in rt.hooks.page_followups:
            hook(rt, outcome.firing_pages)
    return outcome.new_pages


def _retryable(exc: BaseException) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    if isinstance(exc, IntegrityError):
        return True  # a concurrent open of the same group or storm
    if getattr(exc.orig, "sqlstate", None) in RETRY_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig)


async def _apply(rt: Runtime, items: list[Prepared], delivery_id: str | None) -> Outcome:
    now = rt.clock()
    async with writing(rt.sessions, reads_decide=True) as session:
        dialect = rt.engine.dialect.name
        if delivery_id is not None and not await first_delivery(
            session, items[0].page.source, delivery_id, now, dialect=dialect
        ):
            return Outcome()
        new_ids = await insert_new(session, items, now, delivery_id, dialect=dialect)
        if not new_ids:
            return Outcome()
        fresh = [i for i in items if i.identity in new_ids]
        earlier = await counterparts(session, fresh, set(new_ids.values()))
        w = ThreadWriter(session, rt)
        outcome = await apply_delivery(w, fresh, earlier, new_ids, now)
        await w.finish()
        outcome.wrote = w.wrote
        return outcome


# Up to MAX_ATTEMPTS tries; a short random pause, growing with each try, keeps the losers
# of one race from meeting again.
RUN_AGAIN_AFTER_LOST_RACE = Retries(
    AsyncRetrying(
        stop=stop_after_attempt(MAX_ATTEMPTS),
        wait=lambda state: random.uniform(0, 0.02 * state.attempt_number),
        retry=retry_if_exception(_retryable),
        before_sleep=before_sleep_log(log, logging.INFO),
        reraise=True,
    )
)
