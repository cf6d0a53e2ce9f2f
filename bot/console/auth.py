"""Who is at the console: the login the client names, proven by that login's own token.

The token is compared by its SHA-256 against `cli.users.<login>.token_sha256`, in
constant time. A login app.yaml does not map is refused before its token is looked at,
and says so; a wrong or missing token is refused without saying which part was wrong.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from bot.console.config import CliConfig

LOGIN_HEADER = "x-watchkeeper-login"
# The longest token taken: a generated one is 43 characters (32 random bytes, base64url).
MAX_TOKEN = 200


@dataclass(frozen=True)
class ConsoleCaller:
    login: str
    slack_user: str


@dataclass(frozen=True)
class Refusal:
    status: int
    error: str
    text: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(config: CliConfig, headers: Mapping[str, str]) -> ConsoleCaller | Refusal:
    login = headers.get(LOGIN_HEADER, "")
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if not login:
        return Refusal(401, "unauthorized", "no login named (X-Watchkeeper-Login)")
    mapped = config.users.get(login)
    if mapped is None:
        return Refusal(
            403, "unmapped", f"login {login[:64]!r} is not mapped to a Slack user in cli.users"
        )
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN:
        return Refusal(401, "unauthorized", "missing or invalid credentials")
    if not hmac.compare_digest(token_hash(token), mapped.token_sha256):
        return Refusal(401, "unauthorized", "missing or invalid credentials")
    return ConsoleCaller(login, mapped.slack_user)
