"""The `Fleet` port the core talks to, and the router that picks a backend per service.

Backends live in `integrations/fleet/<type>/` and implement `Fleet` structurally; they
never import the core. `app.yaml` lists them with the service patterns they answer for.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Protocol, cast

from bot.fleet.watched import Observe, Watched
from integrations.fleet.errors import FleetError, FleetProtocolError, FleetTimeout, ServiceNotFound
from integrations.fleet.models import Service, ServiceList, ServiceSummary
from integrations.fleet.paging import MAX_PAGE, InvalidCursor, page_of
from integrations.fleet.selector import Selector


class Fleet(Protocol):
    async def get_service(self, name: str) -> Service: ...

    async def list_services(self) -> list[ServiceSummary]: ...

    async def aclose(self) -> None: ...


# How long `/fleet status` waits for one backend's list when `app.yaml` does not say.
STATUS_DEADLINE = 5.0


@dataclass(frozen=True)
class BackendView:
    """One backend's part of the fleet overview: its services, or why it has none to show.

    `services` is None when the backend could not be read (down, too slow, refused): its
    services' health is unknown, which is never the same as healthy (docs/backends.md).
    """

    name: str
    kind: str
    services: list[ServiceSummary] | None
    problem: str | None = None


class FilteringFleet(Protocol):
    """A backend that filters and pages itself (`find_services`); one that does not is
    still searchable: `find_page` filters its `list_services` here."""

    async def find_services(
        self, selector: Selector, *, cursor: str | None = None, limit: int = MAX_PAGE
    ) -> ServiceList: ...


async def find_page(
    backend: Fleet, selector: Selector, cursor: str | None, limit: int = MAX_PAGE
) -> ServiceList:
    """One page of the backend's services that match, by its own filter when it has one."""
    finder = getattr(backend, "find_services", None)
    if finder is None:
        try:
            return page_of(await backend.list_services(), selector, cursor, limit)
        except InvalidCursor:
            raise FleetProtocolError("a cursor of the service listing was lost") from None
    page: ServiceList = await finder(selector, cursor=cursor, limit=limit)
    return page


def _router_cursor(index: int, cursor: str) -> str:
    return f"{index}:{cursor}"


def _split_cursor(cursor: str | None) -> tuple[int, str | None]:
    if not cursor:
        return 0, None
    index, _, rest = cursor.partition(":")
    if not index.isdecimal() or len(index) > 4:
        raise ValueError("not a cursor of this router")
    return int(index), rest or None


class FleetRouter:
    """Routes by service name to the first backend whose patterns match. With `observe`,
    every call to a backend reports whether it answered (bot.fleet.watched)."""

    def __init__(
        self,
        backends: Sequence[tuple[str, Sequence[str], Fleet]],
        *,
        kinds: Mapping[str, str] | None = None,
        deadline: float = STATUS_DEADLINE,
        observe: Observe | None = None,
    ) -> None:
        # Backend name -> its type (`patroni`, `http`, ...), for the overview.
        self._kinds = dict(kinds or {})
        self._deadline = deadline
        self._observe = observe
        # (name, patterns, backend); order is the order of app.yaml.
        self._opened = list(backends)
        self._backends = (
            [(n, p, cast(Fleet, Watched(n, b, observe))) for n, p, b in backends]
            if observe is not None
            else self._opened
        )

    @property
    def names(self) -> list[str]:
        return [name for name, _patterns, _backend in self._opened]

    def backend_for(self, service: str) -> Fleet | None:

        for _name, patterns, backend in self._backends:
            if any(fnmatchcase(service, p) for p in patterns):
                return backend
        return None

    async def get_service(self, name: str) -> Service:
        backend = self.backend_for(name)
        if backend is None:
            raise ServiceNotFound(name)
        return await backend.get_service(name)

    async def list_services(self) -> list[ServiceSummary]:
        """Every service of every backend; a backend that fails raises (no partial overview)."""
        seen: dict[str, ServiceSummary] = {}
        for _name, patterns, backend in self._backends:
            for item in await backend.list_services():
                # A service belongs to the first backend that claims it.
                if item.name not in seen and any(fnmatchcase(item.name, p) for p in patterns):
                    seen[item.name] = item
        return sorted(seen.values(), key=lambda s: s.name)

    async def overview(self) -> list[BackendView]:
        """Every backend read at once, each within the deadline; a failure hides no other.

        A service belongs to the first backend that claims it, as for routing, so a
        catch-all backend listed later does not show it twice.
        """

        async def read(name: str, backend: Fleet) -> list[ServiceSummary] | str:
            try:
                return await asyncio.wait_for(backend.list_services(), self._deadline)
            except TimeoutError:
                late = f"no answer within {self._deadline:g} s"
                if self._observe is not None:  # cut short, so the backend could not tell
                    self._observe(name, FleetTimeout(f"{name}: {late}"))
                return late
            except FleetError as exc:
                return str(exc) or type(exc).__name__
            except Exception as exc:  # a backend's bug must not hide the other backends
                return f"unexpected error ({type(exc).__name__})"

        answers = await asyncio.gather(*(read(n, b) for n, _p, b in self._backends))
        views: list[BackendView] = []
        seen: set[str] = set()
        for (name, patterns, _backend), answer in zip(self._backends, answers, strict=True):
            kind = self._kinds.get(name, "")
            if isinstance(answer, str):
                views.append(BackendView(name, kind, None, answer))
                continue
            mine = [
                s
                for s in answer
                if s.name not in seen and any(fnmatchcase(s.name, p) for p in patterns)
            ]
            seen.update(s.name for s in mine)
            views.append(BackendView(name, kind, sorted(mine, key=lambda s: s.name)))
        return views

    def _owned_by(self, index: int) -> Callable[[str], bool]:
        """Whether a name belongs to backend `index` (the first whose patterns match it)."""
        _name, patterns, backend = self._backends[index]
        if index == 0 and "*" in patterns:
            return lambda _service: True  # the first backend claims every name
        return lambda service: self.backend_for(service) is backend

    async def find_services(
        self, selector: Selector, *, cursor: str | None = None, limit: int = MAX_PAGE
    ) -> ServiceList:
        """A page of the matches of every backend in the order of app.yaml, each service
        from the backend that owns it. Every item is checked against the selector again:
        a control plane that ignores a filter cannot widen the match."""
        index, inner = _split_cursor(cursor)
        while index < len(self._backends):
            backend = self._backends[index][2]
            page = await find_page(backend, selector, inner, limit)
            owns = self._owned_by(index)
            items = [s for s in page.items if selector.matches(s) and owns(s.name)]
            if page.next_cursor:
                if page.next_cursor == inner:
                    raise FleetProtocolError("the service listing's cursor did not move")
                return ServiceList(items=items, next_cursor=_router_cursor(index, page.next_cursor))
            index, inner = index + 1, None
            if items or index == len(self._backends):
                # The next backend's first page comes with the next call.
                more = _router_cursor(index, "") if index < len(self._backends) else None
                return ServiceList(items=items, next_cursor=more)
        return ServiceList(items=[])

    async def aclose(self) -> None:
        for _name, _patterns, backend in self._opened:
            with contextlib.suppress(FleetError):
                await backend.aclose()
