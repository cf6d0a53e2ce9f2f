"""The seam between intake (HTTP, auth, parsing) and the incidents core (storage, dedupe,
grouping, threads): one awaitable that takes a parsed delivery and stores it.

The routes call `rt.page_sink(rt, batch)` and answer the sender 2xx only after it returns,
so what a sink promises is what the sender is told:

- **Durable on return.** Every page of the batch is committed before the call returns;
  a sink that raises has stored nothing of the batch (one transaction), and the sender
  gets a 503 and retries.
- **Whole batches.** The sink is only ever called with a complete, valid batch; it stores
  all of it or none of it.
- **Re-delivery changes nothing.** A page already stored with the same `(source,
  dedup_key, status)` counts as not new. A batch whose `delivery_id` (PagerDuty's
  `X-Webhook-Id`) was stored before changes nothing at all and returns 0; the sink records
  delivery ids in the same transaction as the pages.
- Returns how many pages were new.

`bot.incidents.ingest.ingest` is the real sink; tests use small ones of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from integrations.pages import PageBatch

if TYPE_CHECKING:
    from bot.runtime import Runtime


class PageSink(Protocol):
    async def __call__(self, rt: Runtime, batch: PageBatch, /) -> int: ...
