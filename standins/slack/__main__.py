"""Run the stand-in as its own process, for a demo console elsewhere:

python -m standins.slack --port 8790
"""

from __future__ import annotations

import argparse

import uvicorn

from standins.slack.server import create_app
from standins.slack.state import StandInState


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local stand-in for Slack's Web API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--enforce-pace", action="store_true", help="answer 429 like Slack")
    args = parser.parse_args(argv)
    state = StandInState()
    state.enforce_pace = args.enforce_pace
    uvicorn.run(create_app(state), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
