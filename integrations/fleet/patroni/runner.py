"""Runs an operation's steps against Patroni and decides each wait from `/cluster`.

A call step sends one request. A timeout does not fail it: Patroni may well be doing the
work (its `POST /switchover` itself waits up to about 20 s), so the next wait step, which
looks at the cluster, decides. A refusal (Patroni's 4xx/503 with its reason) fails the
operation with that reason. A wait step polls until its condition holds or its timeout
passes; `check_current` evaluates the same condition once, for `get_operation`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from integrations.fleet.errors import (
    FleetError,
    FleetRequestRejected,
    FleetTimeout,
    FleetUnavailable,
)
from integrations.fleet.patroni.operations import OperationRecord, StepRecord
from integrations.fleet.patroni.rest import PatroniRest, Reply
from integrations.fleet.patroni.topology import ClusterAnswer

log = logging.getLogger(__name__)


class StepFailed(Exception):
    pass


class Runner:
    def __init__(
        self, rest: PatroniRest, clock: Callable[[], datetime], *, poll_interval: float = 0.5
    ) -> None:
        self._rest = rest
        self._clock = clock
        self._poll = poll_interval

    async def run(self, record: OperationRecord) -> None:
        """The operation's background task: every step in order, until done or cancelled."""
        step: StepRecord | None = None
        try:
            for step in record.steps:
                if record.state == "cancelled" and step.is_call:
                    break  # waits still watch what was sent; no new request goes out
                if step.state == "succeeded":  # a refresh saw the wait through already
                    continue
                self._begin(record, step)
                if step.is_call:
                    await self._call(record, step)
                else:
                    await self._wait(record, step)
                self._succeed(record, step)
            for remaining in record.steps:
                if remaining.state == "pending":
                    remaining.state = "cancelled"
            if record.state != "cancelled":
                record.state = "succeeded"
        except StepFailed as exc:
            self._fail(record, step, str(exc))
        except FleetError as exc:
            self._fail(record, step, str(exc))
        except Exception as exc:  # a bug must not leave the operation running forever
            log.exception("patroni operation %s", record.id)
            self._fail(record, step, f"unexpected error ({type(exc).__name__})")
        record.updated_at = self._clock()

    async def check_current(self, record: OperationRecord) -> None:
        """Evaluate the running wait step once, from the cluster as it is now."""
        step = record.current
        if record.finished or step is None or step.is_call or step.state != "running":
            return
        try:
            answer = await self._rest.read_cluster(record.service)
            done = await self._condition(record, step, answer)
        except StepFailed as exc:
            self._fail(record, step, str(exc))
            return
        except FleetError:
            return  # the task keeps polling; one failed read decides nothing
        if done:
            self._succeed(record, step)
            if record.current is None and record.state == "running":
                record.state = "succeeded"

    # -- bookkeeping -------------------------------------------------------------------

    def _begin(self, record: OperationRecord, step: StepRecord) -> None:
        step.state, step.began = "running", time.monotonic()
        if record.state == "pending":
            record.state = "running"
        record.updated_at = self._clock()

    def _succeed(self, record: OperationRecord, step: StepRecord) -> None:
        step.state = "succeeded"
        record.updated_at = self._clock()

    def _fail(self, record: OperationRecord, step: StepRecord | None, error: str) -> None:
        if step is not None and step.state == "running":
            step.state = "failed"
        record.state, record.error = "failed", error
        record.updated_at = self._clock()

    # -- call steps --------------------------------------------------------------------

    async def _call(self, record: OperationRecord, step: StepRecord) -> None:
        spec, draft, cluster = step.spec, record.draft, record.service
        member = spec.member or ""
        try:
            if spec.do == "post_switchover":
                body = {"leader": draft.leader, "candidate": draft.candidate}
                reply = await self._rest.send_any(
                    cluster,
                    "POST",
                    "/switchover",
                    body,
                    first=await self._url(record, draft.leader),
                )
            elif spec.do == "post_failover":
                body = {"candidate": draft.candidate}
                reply = await self._rest.send_any(
                    cluster, "POST", "/failover", body, first=await self._url(record, member)
                )
            elif spec.do == "post_restart_at":
                url = await self._member_url(record, member)
                body = {"schedule": draft.schedule}
                reply = await self._rest.send("POST", url, "/restart", body)
            elif spec.do in ("post_restart", "post_reinitialize"):
                url = await self._member_url(record, member)
                record.start_times[member] = await self._start_time(url)
                path = "/restart" if spec.do == "post_restart" else "/reinitialize"
                reply = await self._rest.send("POST", url, path, {})
            else:
                pause = spec.do == "patch_pause"
                reply = await self._rest.send_any(cluster, "PATCH", "/config", {"pause": pause})
        except FleetTimeout as exc:
            # Sent, but no answer in time: the wait step that follows finds out what happened.
            log.warning("patroni operation %s: %s; watching the cluster instead", record.id, exc)
            return
        except FleetUnavailable as exc:
            # Refused by every member: nothing reached Patroni, so nothing happened.
            raise StepFailed(f"{spec.name}: {exc}") from None
        self._judge(spec.do, reply, spec.name)

    @staticmethod
    def _judge(do: str, reply: Reply, name: str) -> None:
        if do in ("post_switchover", "post_failover"):
            if reply.status == 503 and "status unknown" in reply.text:
                return  # Patroni stopped waiting; the cluster tells the rest
            if reply.ok and " instead of " in reply.text:
                raise StepFailed(f"Patroni: {reply.text}")
        if not reply.ok:
            raise StepFailed(f"{name}: Patroni answered {reply.status}: {reply.text}")

    async def _url(self, record: OperationRecord, member: str | None) -> str | None:
        if not member:
            return None
        with contextlib.suppress(FleetError):
            answer = await self._rest.read_cluster(record.service)
            found = answer.member(member)
            return self._rest.configured_url(record.service, found.api_url) if found else None
        return None

    async def _member_url(self, record: OperationRecord, member: str) -> str:
        url = await self._url(record, member)
        if url is None:
            raise StepFailed(
                f"the REST API of {member} is not among the cluster's URLs in app.yaml"
            )
        return url

    async def _start_time(self, url: str) -> str | None:
        with contextlib.suppress(FleetError):
            status = await self._rest.get_json(url, "/patroni")
            value: Any = status.get("postmaster_start_time")
            return str(value) if value else None
        return None

    # -- wait steps --------------------------------------------------------------------

    async def _wait(self, record: OperationRecord, step: StepRecord) -> None:
        deadline = (step.began or time.monotonic()) + step.spec.timeout
        last = "no answer from the cluster yet"
        while step.state == "running":
            try:
                answer = await self._rest.read_cluster(record.service)
                if await self._condition(record, step, answer):
                    return
                last = answer.describe()
            except FleetRequestRejected:
                raise
            except FleetError as exc:
                last = str(exc)
            if time.monotonic() >= deadline:
                raise StepFailed(
                    f"{step.spec.name}: not done within {step.spec.timeout:g} s ({last})"
                )
            await asyncio.sleep(self._poll)
        if step.state == "failed":
            raise StepFailed(record.error or f"{step.spec.name}: failed")

    async def _condition(
        self, record: OperationRecord, step: StepRecord, answer: ClusterAnswer
    ) -> bool:
        spec, member = step.spec, step.spec.member or ""
        if spec.do == "wait_leader":
            return _leads(answer, member, record.draft.leader)
        if spec.do == "wait_replica":
            found = answer.member(member)
            return found is not None and not found.is_leader and found.healthy
        if spec.do == "wait_restarted":
            return await self._restarted(record, answer, member)
        if spec.do == "wait_scheduled":
            found = answer.member(member)
            return found is not None and found.restart_at is not None
        return answer.pause == (spec.do == "wait_paused")

    async def _restarted(self, record: OperationRecord, answer: ClusterAnswer, member: str) -> bool:
        found = answer.member(member)
        if found is None or not found.healthy:
            return False
        before = record.start_times.get(member)
        if before is None:
            return True  # no start time to compare with: healthy is all we can tell
        url = self._rest.configured_url(record.service, found.api_url)
        return url is not None and (await self._start_time(url)) not in (None, before)


def _leads(answer: ClusterAnswer, member: str, old_leader: str | None) -> bool:
    leader = answer.leader
    if leader is None:
        return False
    if leader.name not in (member, old_leader):
        raise StepFailed(f"Patroni made {leader.name} the leader instead of {member}")
    return leader.name == member and leader.healthy
