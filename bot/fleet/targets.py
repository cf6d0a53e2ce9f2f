"""The services a selector names, streamed: what `/fleet find` lists and what a campaign
acts on, resolved the same way (docs/campaigns.md, "Selector grammar").

Fleet terms are filtered by the backends, page by page (`FleetRouter.find_services`);
`incident=` terms are the bot's own: the services attached to that incident, read from
the incident store, then checked against the fleet terms one by one.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterable

from bot.incidents.queries import services_of_incident
from bot.runtime import Runtime
from integrations.fleet.errors import FleetProtocolError, ServiceNotFound
from integrations.fleet.models import Service, ServiceList, ServiceSummary
from integrations.fleet.paging import MAX_PAGE
from integrations.fleet.selector import Selector, SelectorError

# 10,000 pages of 1,000: ten million services, far beyond any fleet; a listing that goes
# on past it is a control plane that does not end its cursor.
MAX_PAGES = 10_000


def summary_of(service: Service) -> ServiceSummary:
    return ServiceSummary.model_validate(service, from_attributes=True)


async def _attached(rt: Runtime, selector: Selector) -> set[str] | None:
    """The names every `incident=` term allows (None when there is no such term)."""
    allowed: set[str] | None = None
    for term in selector.incident_terms:
        found = await services_of_incident(rt, incident_id=term.incident_id)
        if found is None:
            raise SelectorError(str(term), f"there is no incident #{term.incident_id}")
        allowed = found if allowed is None else allowed & found
    return allowed


async def matching(rt: Runtime, selector: Selector) -> AsyncIterator[list[ServiceSummary]]:
    """Every service the selector names, once each, a batch (a page) at a time; raises
    `SelectorError` for an incident that does not exist and the `FleetError` of a
    backend that fails."""
    attached = await _attached(rt, selector)
    if attached is not None:
        found: list[ServiceSummary] = []
        for name in sorted(attached):
            try:
                summary = summary_of(await rt.fleet.get_service(name))
            except ServiceNotFound:
                continue  # named by a page, unknown to the fleet: nothing to act on
            if selector.matches(summary):
                found.append(summary)
        yield found
        return
    # A control plane that lists a service on two pages must not make it two targets.
    seen: set[str] = set()
    # The next page is asked for before this one is handled, so the control plane
    # filters while the bot reads (docs/benchmarks.md, "/fleet find").
    pending = asyncio.ensure_future(_page(rt, selector, None))
    cursors: set[str] = set()
    try:
        for _ in range(MAX_PAGES):
            page = await pending
            if page.next_cursor in cursors:
                raise FleetProtocolError("the service listing's cursor went round in a loop")
            if page.next_cursor:
                cursors.add(page.next_cursor)
                pending = asyncio.ensure_future(_page(rt, selector, page.next_cursor))
            fresh: list[ServiceSummary] = []
            for summary in page.items:
                if summary.name not in seen:
                    seen.add(summary.name)
                    fresh.append(summary)
            yield fresh
            if not page.next_cursor:
                return
    finally:
        # A page asked for and no longer wanted (the caller stopped, or a page failed):
        # cancelled, and whatever it ended in read here so it is not reported as lost.
        pending.cancel()
        await asyncio.gather(pending, return_exceptions=True)
    raise FleetProtocolError(f"the service listing went on past {MAX_PAGES} pages")


async def _page(rt: Runtime, selector: Selector, cursor: str | None) -> ServiceList:
    return await rt.fleet.find_services(selector, cursor=cursor, limit=MAX_PAGE)


def target_digest(names: Iterable[str]) -> str:
    """A stable hash of a resolved target list, whatever order it was listed in: what a
    campaign's approval is bound to (the fleet changed => another digest)."""
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(name.encode())
        digest.update(b"\n")
    return digest.hexdigest()
