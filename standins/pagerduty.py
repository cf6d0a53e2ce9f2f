"""A local stand-in for PagerDuty's Events API v2 (`POST /v2/enqueue`) and the REST API
v2's on-call list (`GET /oncalls`), for tests and the demo.

Events are validated like PagerDuty does (400 with `errors`), answered 202 with the dedup
key, recorded, and the next requests can be told to fail. `GET /oncalls` checks the API
token, filters the seeded on-calls by schedule, escalation policy and time range, pages
with `limit`/`offset`/`more`, expands users with `include[]=users`, and counts requests.

    server, state = await start_standin()
    events = PagerDutyEvents("key", base_url=server.url)
    state.add_oncall("PSCHED1", "PALICE1", "Alice", "alice@example.com", start, end)
    api = PagerDutyOncalls(state.api_token, base_url=server.url)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from integrations.pagerduty.models import EnqueueEvent
from standins.loopback import LoopbackServer

ACCEPT = "application/vnd.pagerduty+json;version=2"
MAX_RANGE = timedelta(days=90)


@dataclass(frozen=True)
class SeededOncall:
    schedule_id: str
    user_id: str
    name: str
    email: str
    start: datetime
    end: datetime
    escalation_policy_id: str = "PPOLICY1"
    escalation_level: int = 1

    def as_json(self, full_user: bool) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.user_id, "type": "user_reference", "summary": self.name}
        if full_user:
            user.update(type="user", name=self.name, email=self.email)
        return {
            "user": user,
            "schedule": {"id": self.schedule_id, "type": "schedule_reference"},
            "escalation_policy": {
                "id": self.escalation_policy_id,
                "type": "escalation_policy_reference",
            },
            "escalation_level": self.escalation_level,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


@dataclass
class StandInState:
    events: list[EnqueueEvent] = field(default_factory=list)
    # Status codes to answer with, one per request, before accepting again.
    failures: list[int] = field(default_factory=list)
    requests: int = 0
    # The REST API v2 side: `Authorization: Token token=<api_token>`.
    api_token: str = "pd-standin-api-token"
    oncalls: list[SeededOncall] = field(default_factory=list)
    oncall_requests: int = 0
    oncall_failures: list[int] = field(default_factory=list)

    def fail_next(self, *statuses: int) -> None:
        self.failures.extend(statuses)

    def fail_next_oncalls(self, *statuses: int) -> None:
        self.oncall_failures.extend(statuses)

    def add_oncall(
        self, schedule_id: str, user_id: str, name: str, email: str, start: datetime, end: datetime
    ) -> None:
        self.oncalls.append(SeededOncall(schedule_id, user_id, name, email, start, end))

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

    async def oncalls(request: Request) -> Response:
        state.oncall_requests += 1
        if state.oncall_failures:
            return _rest_error(state.oncall_failures.pop(0), "Unavailable", 5000)
        if request.headers.get("authorization") != f"Token token={state.api_token}":
            return _rest_error(401, "Authentication failed", 2006)
        if request.headers.get("accept") != ACCEPT:
            return _rest_error(400, "Invalid Accept header", 2001)
        try:
            page = _list_oncalls(state, request.query_params)
        except ValueError as exc:
            return _rest_error(400, "Invalid Input Provided", 2001, str(exc))
        return JSONResponse(page)

    return Starlette(
        routes=[
            Route("/v2/enqueue", enqueue, methods=["POST"]),
            Route("/oncalls", oncalls, methods=["GET"]),
        ]
    )


def _rest_error(status: int, message: str, code: int, *errors: str) -> Response:
    return JSONResponse(
        {"error": {"message": message, "code": code, "errors": list(errors)}}, status_code=status
    )


def _instant(text: str | None, default: datetime) -> datetime:
    if text is None:
        return default
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"{text} has no UTC offset")
    return when


def _list_oncalls(state: StandInState, query: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    since = _instant(query.get("since"), now)
    until = _instant(query.get("until"), now)
    if until < since or until - since > MAX_RANGE:
        raise ValueError("Until must be after since, and the range at most 3 months")
    limit = int(query.get("limit", 25))
    offset = int(query.get("offset", 0))
    if not 1 <= limit <= 100 or offset < 0:
        raise ValueError("limit must be 1-100 and offset not negative")
    schedules = set(query.getlist("schedule_ids[]"))
    policies = set(query.getlist("escalation_policy_ids[]"))
    matching = sorted(
        (
            o
            for o in state.oncalls
            if (not schedules or o.schedule_id in schedules)
            and (not policies or o.escalation_policy_id in policies)
            # A zero-length range asks who is on call at that instant.
            and (o.start <= since < o.end if since == until else o.start < until and o.end > since)
        ),
        key=lambda o: o.start,
    )
    full_user = "users" in query.getlist("include[]")
    shown = matching[offset : offset + limit]
    return {
        "oncalls": [o.as_json(full_user) for o in shown],
        "limit": limit,
        "offset": offset,
        "more": offset + limit < len(matching),
        "total": None,
    }


async def start_standin(port: int = 0) -> tuple[LoopbackServer, StandInState]:
    state = StandInState()
    server = LoopbackServer(create_app(state), port=port)
    await server.start()
    return server, state
