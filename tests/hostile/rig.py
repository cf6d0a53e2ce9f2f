"""One whole bot per test module, on its own event loop: the ASGI app `watchkeeper serve`
serves, on loopback, with the Slack stand-in, the fleet simulator and every intake source
open. Hypothesis runs thousands of examples and each must reach the same bot cheaply."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from sqlalchemy import column, func, select, table, text

from bot.audit.hash_chain import KeyRing
from bot.audit.verifier import verify
from standins.slack.models import Call
from tests.actions_support import policies, sim_url
from tests.harness import BotHarness
from tests.hostile.checks import outside_markup
from tests.hostile.tally import Tally
from tests.intake_helpers import intake_section

T = TypeVar("T")
MAX_BODY = 64 * 1024
# What a request could change: a row more or less in any of these is a state change.
STATE_TABLES = (
    "incidents",
    "pages",
    "page_deliveries",
    "incident_notes",
    "incident_silences",
    "incident_storms",
    "action_requests",
    "action_approvals",
    "automation_runs",
    "automation_switch",
    "oncall_overrides",
    "audit_log",
    "slack_requests",
    "outbox",
)
# What a user without a role could change: any row added, removed or edited here (an
# incident resolved, a silence made, automation paused) is a change they had no right to.
# Their invocations are audited and answered, so audit_log and outbox may grow.
GUARDED_TABLES = (
    "incidents",
    "incident_notes",
    "incident_silences",
    "incident_storms",
    "action_requests",
    "action_approvals",
    "automation_switch",
    "oncall_overrides",
)


@dataclass(frozen=True)
class Outcome:
    response: httpx.Response
    # The planted markup (tests.hostile.checks) found raw in the Slack calls it caused.
    markup: list[str]


class HostileRig:
    """The bot under attack, driven synchronously from hypothesis' test functions."""

    def __init__(self, loop: asyncio.AbstractEventLoop, harness: BotHarness) -> None:
        self.loop = loop
        self.h = harness
        self.http = httpx.AsyncClient(base_url=harness.url, timeout=30)
        # The simulator's own list of operations is the proof that one (never) ran.
        self.fleet = httpx.AsyncClient(base_url=sim_url(harness), timeout=30)
        self.tally = Tally()

    def attempt(
        self,
        surface: str,
        send: Callable[[], httpx.Response],
        *,
        authenticated: bool,
        roleless: bool = False,
    ) -> Outcome:
        """One hostile example, with the invariants every example keeps: no 5xx (nothing
        here is a dependency outage), no state change when `authenticated` is False, no
        fleet operation started for a user without a role (`roleless`). Counted in the
        module's tally whatever happens; the planted markup found is returned, for the
        properties that assert on it."""
        rows = self.rows() if not authenticated else None
        guarded = self.guarded_state() if roleless else None
        operations = self.fleet_operations() if roleless else None
        since = self.last_call()
        started = time.monotonic()
        response = send()
        self.quiet()
        seconds = time.monotonic() - started
        changed = rows is not None and self.rows() != rows
        ran = operations is not None and self.fleet_operations() != operations
        overstepped = guarded is not None and self.guarded_state() != guarded
        markup = sorted(
            {m for call in self.slack_calls(since) for m in outside_markup(call.payload)}
        )
        self.tally.record(
            surface,
            status=response.status_code,
            seconds=seconds,
            unauthorized_change=changed or ran or overstepped,
            markup_leaked=bool(markup),
        )
        assert response.status_code < 500, (response.status_code, response.text[:300])
        assert not changed, f"an unauthenticated request changed state: {response.text[:300]}"
        assert not ran, "a user without a role had a fleet operation run"
        assert not overstepped, f"a user without a role changed state: {response.text[:300]}"
        assert not markup, f"outside markup reached Slack raw: {markup}"
        return Outcome(response, markup)

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def post(self, path: str, body: bytes, headers: dict[str, Any]) -> httpx.Response:
        return self.run(self.http.post(path, content=body, headers=headers))

    def quiet(self) -> None:
        """Everything the last request started has finished and reached Slack."""
        self.run(self.h.quiet(within=20))

    def rows(self) -> dict[str, int]:
        return self.run(self._rows())

    async def _rows(self) -> dict[str, int]:
        counts = [
            select(func.count()).select_from(table(name)).scalar_subquery().label(name)
            for name in STATE_TABLES
        ]
        async with self.h.bot.runtime.engine.connect() as conn:
            return dict((await conn.execute(select(*counts))).one()._mapping)

    def guarded_state(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row, every column of `GUARDED_TABLES`: an edit shows, not only a count."""

        async def read() -> dict[str, list[tuple[Any, ...]]]:
            async with self.h.bot.runtime.engine.connect() as conn:
                return {
                    name: sorted(
                        (
                            tuple(map(repr, row))
                            for row in await conn.execute(
                                text(f"SELECT * FROM {name}")  # names from the tuple above
                            )
                        ),
                    )
                    for name in GUARDED_TABLES
                }

        return self.run(read())

    def ids(self, name: str) -> list[Any]:
        """The primary keys of the table `name`, oldest first."""

        async def read() -> list[Any]:
            async with self.h.bot.runtime.engine.connect() as conn:
                query: Any = select(column("id")).select_from(table(name))
                return list((await conn.execute(query)).scalars())

        return self.run(read())

    def fleet_operations(self) -> int:
        answer = self.run(self.fleet.get("/v1/operations"))
        answer.raise_for_status()
        return len(answer.json()["items"])

    def slack_calls(self, since: int) -> list[Call]:
        return self.h.state.calls(since=since)

    def last_call(self) -> int:
        return self.h.state.last_call_seq

    def chain_problem(self) -> str | None:
        """None when the audit chain verifies from its first row to its head."""

        async def check() -> str | None:
            keys = KeyRing.from_config(self.h.config.audit)
            async with self.h.bot.runtime.engine.connect() as conn:
                report = await verify(conn, keys)
            return None if report.ok else repr(report.problem)

        return self.run(check())


@contextmanager
def hostile_rig(db_url: str) -> Iterator[HostileRig]:
    """alice and bob are responders and carol an auditor (tests.conftest); dave and erin
    have no role at all."""
    loop = asyncio.new_event_loop()
    harness = BotHarness(
        db_url,
        policies=policies(),
        intake=intake_section(max_body_bytes=MAX_BODY),
        server={"max_body_bytes": MAX_BODY},
        # Scheduled work (expiry sweeps, escalations, checkpoints) changes rows on its own
        # clock; with it running, "an unauthenticated request changed nothing" could not be
        # told from the sweeper's work.
        customize=lambda parts: parts.jobs.clear(),
    )
    loop.run_until_complete(harness.__aenter__())
    rig = HostileRig(loop, harness)
    try:
        yield rig
    finally:
        loop.run_until_complete(rig.http.aclose())
        loop.run_until_complete(rig.fleet.aclose())
        loop.run_until_complete(harness.__aexit__(None, None, None))
        loop.close()
