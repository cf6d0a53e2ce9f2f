"""`cli:` in app.yaml: who may use the fallback console, each with their own credential.

Only a SHA-256 of each engineer's token is configured: the token itself lives with the
engineer (environment or a file readable by them alone), never in app.yaml in clear
(docs/fallback.md).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bot.config_model import StrictModel
from bot.roles import SlackUserId

# An OS login or an SSH certificate principal: what `getpass.getuser()` reports.
Login = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9._@-]{0,63}$")]


class ConsoleUser(StrictModel):
    slack_user: SlackUserId
    token_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class CliConfig(StrictModel):
    # login -> the Slack user they act as, and the hash of their token.
    users: dict[Login, ConsoleUser] = Field(default_factory=dict)
