"""The fallback console: act through the running bot when Slack is down (docs/fallback.md).

`watchkeeper ops incidents|status|request|confirm|approve|deny` calls the bot's ops
endpoint as the engineer at the keyboard (their login, their own token); the bot runs
the same permission step and guard chain as for Slack and audits it as `cli:<login>`.
This process holds neither the database URL nor the audit key. `ops token` makes a new
token and the hash to put in `cli.users`.
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import httpx

from bot.console.auth import LOGIN_HEADER, token_hash

URL_ENV = "WATCHKEEPER_OPS_URL"
TOKEN_ENV = "WATCHKEEPER_OPS_TOKEN"
DEFAULT_URL = "http://127.0.0.1:8780"
DEFAULT_TOKEN_FILE = Path("~/.config/watchkeeper/ops-token")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=os.environ.get(URL_ENV, DEFAULT_URL),
        help=f"the bot's address (default: ${URL_ENV} or {DEFAULT_URL})",
    )
    parser.add_argument(
        "--login", default=None, help="your login or SSH principal (default: the OS user)"
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        default=DEFAULT_TOKEN_FILE,
        help=f"your token, if ${TOKEN_ENV} is not set",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per call")
    acts = parser.add_subparsers(dest="ops_action", required=True)
    acts.add_parser("incidents", help="the open incidents")
    status = acts.add_parser("status", help="a service's status and its recent requests")
    status.add_argument("service")
    req = acts.add_parser("request", help="ask for an action: preview, then confirm")
    req.add_argument("action")
    req.add_argument("service")
    req.add_argument("params", nargs="*", metavar="KEY=VALUE")
    req.add_argument("--reason", default=None)
    req.add_argument("--break-glass", action="store_true")
    for word, what in (
        ("confirm", "confirm your previewed request"),
        ("approve", "approve another person's request"),
        ("deny", "deny another person's request"),
    ):
        act = acts.add_parser(word, help=what)
        act.add_argument("request")
    acts.add_parser("token", help="make a new token and print the hash for cli.users")


def _token(args: argparse.Namespace) -> str | None:
    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV].strip()
    try:
        return Path(args.token_file).expanduser().read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def _login(args: argparse.Namespace) -> str:
    if args.login:
        return str(args.login)
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def _body(args: argparse.Namespace) -> dict[str, Any]:
    word = args.ops_action
    if word == "status":
        return {"service": args.service}
    if word == "request":
        params = {}
        for pair in args.params:
            key, eq, value = pair.partition("=")
            if not eq or not key:
                raise SystemExit(f"not KEY=VALUE: {pair!r}")
            params[key] = value
        return {"action": args.action, "service": args.service, "params": params,
                "reason": args.reason, "break_glass": args.break_glass}  # fmt: skip
    if word in ("confirm", "approve", "deny"):
        return {"request": args.request}
    return {}


def call(args: argparse.Namespace, token: str) -> int:
    url = f"{args.url.rstrip('/')}/ops/v1/{args.ops_action}"
    headers = {"Authorization": f"Bearer {token}", LOGIN_HEADER: _login(args)}
    try:
        with httpx.Client(timeout=args.timeout) as http:
            answer = http.post(url, json=_body(args), headers=headers)
    except httpx.HTTPError as exc:
        print(f"the bot at {args.url} did not answer: {type(exc).__name__}", file=sys.stderr)
        return 2
    try:
        found = answer.json()
    except ValueError:
        found = {"text": answer.text[:500]}
    text = str(found.get("text") or "")
    if answer.status_code >= 400:
        print(f"refused ({answer.status_code} {found.get('error', '')}): {text}", file=sys.stderr)
        return 1
    print(text)
    if found.get("request"):
        print(f"request: {found['request']}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.ops_action == "token":
        token = secrets.token_urlsafe(32)
        print(f"token (keep it, e.g. in {DEFAULT_TOKEN_FILE}, mode 600): {token}")
        print(f"for app.yaml, cli.users.{_login(args)}.token_sha256: {token_hash(token)}")
        return 0
    found = _token(args)
    if found is None:
        print(f"no token: set ${TOKEN_ENV} or write it to {args.token_file}", file=sys.stderr)
        return 2
    return call(args, found)
