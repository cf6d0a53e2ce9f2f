"""The outbox against the Slack stand-in: outages delay messages, never lose or double them."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import outbox
from bot.clock import utcnow
from bot.db.engine import session_factory
from bot.db.models import LaneLease, OutboxMessage
from bot.outbox import Message
from bot.outbox.config import OutboxConfig
from bot.outbox.worker import OutboxWorker
from integrations.slack.web import SlackWebClient
from standins.loopback import LoopbackServer
from standins.slack import StandInState, start_standin

EPOCH = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


class FakeClock:
    """One simulated time for the worker (datetime) and the stand-in (seconds)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def now(self) -> datetime:
        return EPOCH + timedelta(seconds=self.seconds)

    def monotonic(self) -> float:
        return self.seconds


@dataclass
class Rig:
    sessions: async_sessionmaker[AsyncSession]
    state: StandInState
    clock: FakeClock
    server: LoopbackServer
    web: SlackWebClient

    def worker(self, owner: str = "replica-a", interval: float = 1.0) -> OutboxWorker:
        config = OutboxConfig(per_channel_interval_seconds=interval, max_backoff_seconds=20)
        return OutboxWorker(self.sessions, self.web, config, owner=owner, clock=self.clock.now)

    async def run(self, workers: list[OutboxWorker], seconds: float, step: float = 0.5) -> None:
        """Let simulated time pass, each worker making a pass at every step."""
        for _ in range(int(seconds / step)):
            await asyncio.gather(*(w.deliver_due() for w in workers))
            self.clock.seconds += step


@pytest.fixture
async def rig(engine: AsyncEngine) -> AsyncIterator[Rig]:
    clock = FakeClock()
    server, state = await start_standin(state=StandInState(clock=clock.monotonic))
    web = SlackWebClient("xoxb-test", server.url + "/api/", timeout=2.0)
    yield Rig(session_factory(engine), state, clock, server, web)
    await web.aclose()
    await server.stop()


async def enqueue_conversation(rig: Rig, channel: str, count: int) -> None:
    """A root message, `count` numbered replies in its thread, and edits of the root."""
    async with rig.sessions() as session, session.begin():
        outbox.post(
            session,
            channel=channel,
            message=Message("root"),
            key=f"root:{channel}",
            clock=rig.clock.now,
        )
        for i in range(count):
            outbox.post(
                session,
                channel=channel,
                message=Message(f"reply {i}"),
                thread_key=f"root:{channel}",
                clock=rig.clock.now,
            )


def texts(state: StandInState, channel: str) -> list[str]:
    return [m.text for m in state.messages(channel)]


async def test_messages_go_out_in_order_threaded_and_paced(rig: Rig) -> None:
    await enqueue_conversation(rig, "C0AAA0001", 5)
    await rig.run([rig.worker()], seconds=10)
    posted = rig.state.messages("C0AAA0001")
    assert [m.text for m in posted] == ["root"] + [f"reply {i}" for i in range(5)]
    assert all(m.thread_ts == posted[0].ts for m in posted[1:])
    times = rig.state.post_times("C0AAA0001")
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))


@pytest.mark.parametrize("fault", ["error_5xx", "rate_limit", "hang"])
async def test_a_30s_slack_outage_delays_but_loses_and_doubles_nothing(
    rig: Rig, fault: str
) -> None:
    rig.state.set_fault(fault, seconds=30, retry_after=7)  # type: ignore[arg-type]
    if fault == "hang":
        rig.web = SlackWebClient("xoxb-test", rig.server.url + "/api/", timeout=0.2)
    for channel in ("C0AAA0001", "C0BBB0002"):
        await enqueue_conversation(rig, channel, 6)
    await rig.run([rig.worker()], seconds=25)
    assert rig.state.messages("C0AAA0001") == []  # nothing got through while Slack was down
    await rig.run([rig.worker()], seconds=120)
    for channel in ("C0AAA0001", "C0BBB0002"):
        assert texts(rig.state, channel) == ["root"] + [f"reply {i}" for i in range(6)]
    async with rig.sessions() as session:
        statuses = set(await session.scalars(select(OutboxMessage.status)))
    assert statuses == {"delivered"}


async def test_429_retry_after_is_honoured(rig: Rig) -> None:
    rig.state.set_fault("rate_limit", calls=1, retry_after=12)
    await enqueue_conversation(rig, "C0AAA0001", 0)
    await rig.run([rig.worker()], seconds=11)
    assert rig.state.messages("C0AAA0001") == []
    await rig.run([rig.worker()], seconds=3)
    assert texts(rig.state, "C0AAA0001") == ["root"]


async def test_pending_edits_of_one_message_are_coalesced(rig: Rig) -> None:
    await enqueue_conversation(rig, "C0AAA0001", 0)
    async with rig.sessions() as session, session.begin():
        for n in range(5):
            await outbox.update(
                session,
                channel="C0AAA0001",
                key="root:C0AAA0001",
                message=Message(f"edit {n}"),
                clock=rig.clock.now,
            )
    await rig.run([rig.worker()], seconds=5)
    assert len(rig.state.calls("chat.update")) == 1
    assert texts(rig.state, "C0AAA0001") == ["edit 4"]


async def test_a_message_slack_refuses_is_marked_failed_and_the_lane_moves_on(rig: Rig) -> None:
    async with rig.sessions() as session, session.begin():
        outbox.post(
            session, channel="C0AAA0001", message=Message("x" * 40_001), clock=rig.clock.now
        )
        outbox.post(session, channel="C0AAA0001", message=Message("after"), clock=rig.clock.now)
    await rig.run([rig.worker()], seconds=4)
    assert texts(rig.state, "C0AAA0001") == ["after"]
    async with rig.sessions() as session:
        failed = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.status == "failed"))
        ).one()
    assert failed.last_error == "msg_too_long"


async def test_two_replicas_deliver_each_message_once(rig: Rig) -> None:
    for channel in ("C0AAA0001", "C0BBB0002", "C0CCC0003"):
        await enqueue_conversation(rig, channel, 4)
    workers = [rig.worker("replica-a"), rig.worker("replica-b")]
    await rig.run(workers, seconds=12)
    for channel in ("C0AAA0001", "C0BBB0002", "C0CCC0003"):
        assert texts(rig.state, channel) == ["root"] + [f"reply {i}" for i in range(4)]
    assert len(rig.state.calls("chat.postMessage")) == 15


async def test_a_restart_under_the_same_replica_id_takes_its_lanes_back_at_once(
    rig: Rig,
) -> None:
    # "r1" died mid-send: its lease on the lane has most of an hour to run.
    held_until = rig.clock.now() + timedelta(hours=1)
    async with rig.sessions() as session, session.begin():
        session.add(LaneLease(lane="C0AAA0001", owner="r1", lease_until=held_until))
    await enqueue_conversation(rig, "C0AAA0001", 0)
    await rig.run([rig.worker("r2")], seconds=5)
    assert rig.state.messages("C0AAA0001") == []  # another replica waits for the lease
    await rig.run([rig.worker("r1")], seconds=1)
    assert texts(rig.state, "C0AAA0001") == ["root"]


def idle_test_worker(rig: Rig, *, interval: float, poll: float) -> OutboxWorker:
    """A worker on the real clock: pacing must run out while `drained` waits."""
    config = OutboxConfig(per_channel_interval_seconds=interval, poll_interval_seconds=poll)
    return OutboxWorker(rig.sessions, rig.web, config, owner="replica-a", clock=utcnow)


async def enqueue_now(rig: Rig, *posts: str, ephemerals: int = 0) -> None:
    async with rig.sessions() as session, session.begin():
        for text in posts:
            outbox.post(session, channel="C0AAA0001", message=Message(text))
        for n in range(ephemerals):
            outbox.ephemeral(session, channel="C0AAA0001", user="U1", message=Message(f"e{n}"))


async def test_drained_waits_out_a_lanes_pace_and_reports_rows_held_by_a_back_off(
    rig: Rig,
) -> None:
    rig.state.set_fault("rate_limit", retry_after=60, methods=["chat.postEphemeral"])
    worker = idle_test_worker(rig, interval=0.05, poll=0.01)
    await enqueue_now(rig, "one", "two", "three", ephemerals=2)
    # The paced posts all went out; the ephemeral lane's head waits a minute on Slack's
    # Retry-After, and the row behind it with it: both reported, neither awaited.
    assert await worker.drained(5) == 2
    assert texts(rig.state, "C0AAA0001") == ["one", "two", "three"]
    assert len(rig.state.calls("chat.postEphemeral")) == 1


async def test_drained_gives_up_when_the_pace_holds_longer_than_it_may_wait(rig: Rig) -> None:
    worker = idle_test_worker(rig, interval=60, poll=0.01)
    await enqueue_now(rig, "now", "in a minute")
    # The first post goes out before the clock starts: a loaded machine may take longer
    # than the wait below for one post, and only the paced second one is what is timed.
    assert await worker.deliver_due() == 1
    with pytest.raises(TimeoutError):
        await worker.drained(0.3)
    assert texts(rig.state, "C0AAA0001") == ["now"]


async def test_a_running_worker_is_woken_for_a_pass_instead_of_waiting_for_its_poll(
    rig: Rig,
) -> None:
    worker = idle_test_worker(rig, interval=0, poll=30)  # only a wake makes a second pass
    running = asyncio.create_task(worker.run_forever())
    try:
        assert await worker.next_pass() == 0  # the queue is empty
        await enqueue_now(rig, "one", "two")
        assert await worker.drained(5) == 0
        assert texts(rig.state, "C0AAA0001") == ["one", "two"]
        await enqueue_now(rig, "three")
        assert await worker.next_pass() == 1
    finally:
        worker.stop()
        await running
    assert texts(rig.state, "C0AAA0001") == ["one", "two", "three"]
