"""The bot for the intake benchmark, alone in its own process:

    python -m bench.intake_server CONFIG PORT REPORT [runtime|table]

It serves the real ASGI app (all routes) with uvicorn. `runtime` (the default) measures
the page sink the runtime comes with (`bot.incidents.ingest` once wired), falling back to
`bench.intake_sink.TableSink` when there is none; `table` always uses the table sink, to
measure intake alone (HTTP, auth, parsing, one durable insert). REPORT receives which
sink was measured, so the figures can say.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import uvicorn

from bench.intake_sink import TableSink
from bot.asgi import create_asgi_app
from bot.composition import open_bot
from bot.config import load_config


async def serve(config_path: Path, port: int, report: Path, mode: str) -> None:
    bot = await open_bot(load_config(config_path))
    sink_name = "ingest"
    if bot.runtime.page_sink is None or mode == "table":
        table = TableSink(bot.runtime.engine)
        await table.prepare()
        bot.runtime.page_sink = table
        sink_name = "bench table sink"
    report.write_text(json.dumps({"sink": sink_name}))  # noqa: ASYNC240 (once, at start)
    app = create_asgi_app(bot)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    await uvicorn.Server(config).serve()


if __name__ == "__main__":
    mode = sys.argv[4] if len(sys.argv) > 4 else "runtime"
    asyncio.run(serve(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), mode))
