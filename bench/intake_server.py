"""The bot for the intake benchmark, alone in its own process:

    python -m bench.intake_server CONFIG PORT REPORT [runtime|table]

It serves the real ASGI app (all routes) with uvicorn. `runtime` (the default) measures
the page sink the incidents area installs (`bot.incidents.ingest`); `table` uses
`bench.intake_sink.TableSink` instead, to measure intake alone (HTTP, auth, parsing, one
durable insert). REPORT receives which sink was measured, so the figures can say.
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
from bot.parts import AppParts


async def serve(config_path: Path, port: int, report: Path, mode: str) -> None:
    table = TableSink()

    def use_table(parts: AppParts) -> None:
        parts.hooks.page_sink = table

    bot = await open_bot(load_config(config_path), customize=use_table if mode == "table" else None)
    sink_name = "ingest"
    if mode == "table":
        await table.prepare(bot.runtime.engine)
        sink_name = "bench table sink"
    report.write_text(json.dumps({"sink": sink_name}))  # noqa: ASYNC240 (once, at start)
    app = create_asgi_app(bot)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    await uvicorn.Server(config).serve()


if __name__ == "__main__":
    mode = sys.argv[4] if len(sys.argv) > 4 else "runtime"
    asyncio.run(serve(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), mode))
