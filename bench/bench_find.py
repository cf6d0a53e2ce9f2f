"""`/fleet find` over a fleet of a million services: the simulator in its own process
(`python -m standins.fleet.simulator --generated`), the bot in this one (signed Slack
requests through the real Bolt app, the outbox, the Slack stand-in) with an `http` fleet
backend pointed at it. The selector matches about 110,000 services (a tenth of the fleet).

1. Ack → answer: from the ack of `/fleet find` to the answer's post reaching the Slack
   stand-in (the count, the breakdown and the first matches, as the channel sees them);
   and → the CSV shared in its thread. Baseline, same run: a bare httpx client paging
   through the same filtered listing and decoding the JSON, i.e. what the control plane
   and the wire cost whatever the bot does.
2. Bot RSS: the peak RSS of this process (the bot, and the Slack stand-in holding the
   CSV) after the finds. Baseline: its RSS with the bot started and idle.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.load import free_port
from bench.report import Figure, Target, print_figures
from bench.sizes import scaled_count
from integrations.fleet.paging import MAX_PAGE
from tests.harness import BotHarness

TITLE = "/fleet find over a million simulated services"
FLEET_SIZE = scaled_count(1_000_000, 20_000)
SELECTOR = "engine=postgres version<16.10 region~us-*"
RUNS = 3
ROOT = Path(__file__).resolve().parent.parent


def _rss_mib(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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


async def _bare_paging(url: str) -> tuple[float, int]:
    """The baseline: seconds to page through the filtered listing, and the matches."""
    terms = [("match", t) for t in SELECTOR.split()]
    count, cursor = 0, None
    began = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        while True:
            params = [("limit", str(MAX_PAGE)), *terms, *([("cursor", cursor)] if cursor else [])]
            page = (await client.get("/v1/services", params=params)).json()
            count += len(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return time.perf_counter() - began, count


async def _finds(url: str, tmp: Path) -> tuple[list[float], list[float], int, float, float]:
    backend = {"name": "fleet", "type": "http", "url": url, "timeout_seconds": 30}
    answer_s: list[float] = []
    file_s: list[float] = []
    count = 0
    async with BotHarness(
        f"sqlite+aiosqlite:///{tmp}/bench.db", fleet={"backends": [backend]}
    ) as h:
        idle = _rss_mib("VmRSS")
        for run in range(RUNS):
            await h.command("dave", f"/fleet find {SELECTOR}")
            acked = time.monotonic()  # the stand-in's events are on this clock
            reply = await h.wait_for_response("dave", count=run + 1)
            answer = next(
                e
                for e in h.state.events()
                if e.kind == "message"
                and "services match*" in str(e.data.get("text"))
                and e.at >= acked
            )
            answer_s.append(answer.at - acked)
            await h.wait_for(lambda n=run + 1: len(h.state.files()) >= n, within=120)
            shared = [e for e in h.state.events() if e.kind == "message" and e.at >= acked]
            file_s.append(shared[-1].at - acked)
            count = int(reply.text.split()[0].replace(",", ""))
        peak = _rss_mib("VmHWM")
    return answer_s, file_s, count, idle, peak


async def _measure(url: str, tmp: Path) -> list[Figure]:
    await _started(url)
    answer_s, file_s, count, idle, peak = await _finds(url, tmp)
    bare = [await _bare_paging(url) for _ in range(RUNS)]
    bare_s = statistics.median(s for s, _ in bare)
    assert all(n == count for _, n in bare), (count, bare)
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
            "bot process, peak RSS", peak, "MiB", "same process, bot idle", idle,
            target=Target(300), higher_is_better=False,
        ),
    ]  # fmt: skip


def run() -> list[Figure]:
    port = free_port()
    command = [sys.executable, "-m", "standins.fleet.simulator", "--generated",
               "--size", str(FLEET_SIZE), "--port", str(port)]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        with (Path(tmp) / "simulator.log").open("w") as log:
            process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            return asyncio.run(_measure(f"http://127.0.0.1:{port}", Path(tmp)))
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    print_figures(TITLE, run())
