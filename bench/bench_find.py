"""`/fleet find` over a fleet of a million services, every part in its own process as
deployed: the simulator (`python -m standins.fleet.simulator --generated`), the Slack
stand-in, and the bot (`watchkeeper serve`, SQLite) with an `http` fleet backend pointed
at the simulator. The selector matches about 110,000 services (a tenth of the fleet).

1. Ack → answer: from the ack of the signed `/fleet find` to the answer's post reaching
   the Slack stand-in (the count, the breakdown and the first matches, as the channel
   sees them; the stand-in stamps it on the machine's monotonic clock, which every
   process shares); and → the CSV shared in its thread. Baseline, same run: a bare httpx
   client paging through the same filtered listing and decoding the JSON, i.e. what the
   control plane and the wire cost whatever the bot does.
2. Bot RSS: the bot process's peak RSS (VmHWM) after the finds. Baseline: its RSS
   started and idle.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.report import Figure, Target, print_figures
from bench.sizes import scaled_count
from integrations.fleet.paging import MAX_PAGE
from tests.bot_process import CHANNEL, BotProcess, FleetProcess, StandInProcess, bot_config

Event = dict[str, Any]

TITLE = "/fleet find over a million simulated services"
FLEET_SIZE = scaled_count(1_000_000, 20_000)
SELECTOR = "engine=postgres version<16.10 region~us-*"
RUNS = 3


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time process `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int, field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of process `pid`, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


async def _started(url: str, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url + "/v1/services", params={"limit": 1})).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the simulator did not start")


async def _bare_paging(url: str) -> tuple[float, int, float]:
    """The baseline: seconds to page through the filtered listing, the matches, and the
    CPU seconds this client spent on it."""
    terms = [("match", t) for t in SELECTOR.split()]
    count, cursor = 0, None
    began, cpu = time.perf_counter(), time.process_time()
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        while True:
            params = [("limit", str(MAX_PAGE)), *terms, *([("cursor", cursor)] if cursor else [])]
            page = (await client.get("/v1/services", params=params)).json()
            count += len(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return time.perf_counter() - began, count, time.process_time() - cpu


async def _arrived(standin: StandInProcess, after: float, match: Callable[[Event], bool]) -> Event:
    """The first event of the stand-in after monotonic time `after` that `match` accepts."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = [e for e in await standin.events() if e["at"] >= after and match(e)]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise RuntimeError("nothing arrived")


async def _finds(bot: BotProcess, standin: StandInProcess) -> tuple[list[float], list[float], int]:
    answer_s: list[float] = []
    file_s: list[float] = []
    count = 0
    sender = bot.sender(standin)
    try:
        for _ in range(RUNS):
            await sender.command(
                "/fleet", f"find {SELECTOR}", user_id="UDAVE004", user_name="dave",
                channel_id=CHANNEL,
            )  # fmt: skip
            acked = time.monotonic()  # the stand-in stamps events on this clock too
            answer = await _arrived(
                standin, acked, lambda e: "services match*" in str(e.get("text"))
            )
            shared = await _arrived(
                standin, acked, lambda e, ts=answer["ts"]: e.get("thread_ts") == ts
            )
            answer_s.append(answer["at"] - acked)
            file_s.append(shared["at"] - acked)
            count = int(str(answer["text"]).split()[0].strip("*").replace(",", ""))
    finally:
        await sender.aclose()
    return answer_s, file_s, count


async def _measure(log_dir: Path) -> list[Figure]:
    standin, fleet = StandInProcess(log_dir), FleetProcess(log_dir)
    fleet.command += ["--generated", "--size", str(FLEET_SIZE)]
    config = bot_config(
        log_dir / "app.yaml", db_url=f"sqlite+aiosqlite:///{log_dir}/bench.db",
        standin=standin, fleet=fleet,
        # The shipped pace of the scheduler and the outbox, not the tests' quick one.
        scheduler={"lease_seconds": 15.0, "renew_seconds": 5.0},
        outbox={"per_channel_interval_seconds": 1.0},
        logging={"loggers": {}},
    )  # fmt: skip
    bot = BotProcess("bot", config, log_dir)
    processes = (standin, fleet, bot)
    try:
        standin.start()
        fleet.start()
        await standin.wait_ready("/_standin/calls")
        await fleet.wait_ready("/v1/services?limit=1", within=180)
        await bot.start_ready()
        idle = _rss_mib(bot.pid, "VmRSS")
        cpu = _cpu_seconds(bot.pid)
        answer_s, file_s, count = await _finds(bot, standin)
        # Per find; it includes the scheduler's and the outbox's own work meanwhile.
        cpu = (_cpu_seconds(bot.pid) - cpu) / RUNS
        peak = _rss_mib(bot.pid, "VmHWM")
        bare = [await _bare_paging(fleet.url) for _ in range(RUNS)]
    finally:
        for process in processes:
            process.stop()
    bare_s = statistics.median(s for s, _, _ in bare)
    bare_cpu = statistics.median(c for _, _, c in bare)
    assert all(n == count for _, n, _ in bare), (count, bare)
    base = f"bare httpx paging the same {count:,} matches"
    return [
        Figure(
            f"ack → answer ({count:,} of {FLEET_SIZE:,} match), median of {RUNS}",
            statistics.median(answer_s), "s", base, bare_s,
            target=Target(2.0), higher_is_better=False,
        ),
        Figure(
            "ack → CSV shared in the thread, median",
            statistics.median(file_s), "s", base, bare_s, higher_is_better=False,
        ),
        Figure(
            "bot CPU time per find (load-independent)", cpu, "s",
            "CPU time of the bare httpx client", bare_cpu, higher_is_better=False,
        ),
        Figure(
            "bot process, peak RSS", peak, "MiB", "same process, started and idle", idle,
            target=Target(300), higher_is_better=False,
        ),
    ]  # fmt: skip


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(_measure(Path(tmp)))


if __name__ == "__main__":
    print_figures(TITLE, run())
