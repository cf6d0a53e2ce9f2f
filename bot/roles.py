"""`roles:` in `app.yaml`: who holds which role, by Slack user id or user group."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bot.config_model import StrictModel

SlackUserId = Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,}$")]
SlackGroupId = Annotated[str, Field(pattern=r"^S[A-Z0-9]{2,}$")]


class RoleBinding(StrictModel):
    users: list[SlackUserId] = Field(default_factory=list)
    # Members of these Slack user groups hold the role too, as Slack lists them now
    # (bot/permissions/usergroups.py); a group that cannot be read grants nothing.
    usergroups: list[SlackGroupId] = Field(default_factory=list)
    # The bot's own automation (actor `watchkeeper:automation`) holds this role too.
    automation: bool = False
