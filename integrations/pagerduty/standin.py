"""A local stand-in for PagerDuty's Events API v2 (`POST /v2/enqueue`), for tests and
the demo: it validates events like PagerDuty does (400 with `errors`), answers 202 with
the dedup key, records what it accepted, and can be told to fail the next requests.

    server, state = await start_standin()
    events = PagerDutyEvents("key", base_url=server.url)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations.loopback import LoopbackServer
from integrations.pagerduty.models import EnqueueEvent


@dataclass
class StandInState:
    events: list[EnqueueEvent] = field(default_factory=list)
    # Status codes to answer with, one per request, before accepting again.
    failures: list[int] = field(default_factory=list)
    requests: int = 0

    def fail_next(self, *statuses: int) -> None:
        self.failures.extend(statuses)

    def open_alerts(self) -> set[str]:
        """Dedup keys triggered and not resolved since."""
        open_: set[str] = set()
        for event in self.events:
            assert event.dedup_key is not None
            if event.event_action == "trigger":
                open_.add(event.dedup_key)
            elif event.event_action == "resolve":
                open_.discard(event.dedup_key)
        return open_


def _invalid(*errors: str) -> Response:
    return JSONResponse(
        {"status": "invalid event", "message": "Event object is invalid", "errors": list(errors)},
        status_code=400,
    )


def create_app(state: StandInState) -> Starlette:
    async def enqueue(request: Request) -> Response:
        state.requests += 1
        if state.failures:
            status = state.failures.pop(0)
            headers = {"Retry-After": "1"} if status == 429 else None
            return JSONResponse({"status": "unavailable"}, status_code=status, headers=headers)
        try:
            event = EnqueueEvent.model_validate_json(await request.body())
        except ValidationError as exc:
            return _invalid(*(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        if event.event_action == "trigger" and event.payload is None:
            return _invalid("'payload' is missing or blank")
        if event.event_action != "trigger" and not event.dedup_key:
            return _invalid("'dedup_key' is required for acknowledge and resolve")
        key = event.dedup_key or uuid.uuid4().hex
        state.events.append(event.model_copy(update={"dedup_key": key}))
        return JSONResponse(
            {"status": "success", "message": "Event processed", "dedup_key": key}, status_code=202
        )

    return Starlette(routes=[Route("/v2/enqueue", enqueue, methods=["POST"])])


async def start_standin(port: int = 0) -> tuple[LoopbackServer, StandInState]:
    state = StandInState()
    server = LoopbackServer(create_app(state), port=port)
    await server.start()
    return server, state
