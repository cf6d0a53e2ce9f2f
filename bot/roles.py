"""`roles:` in `app.yaml`: who holds which role, by Slack user id."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from bot.config_model import StrictModel

SlackUserId = Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,}$")]
SlackGroupId = Annotated[str, Field(pattern=r"^S[A-Z0-9]{2,}$")]


class RoleBinding(StrictModel):
    users: list[SlackUserId] = Field(default_factory=list)
    usergroups: list[SlackGroupId] = Field(default_factory=list)
    # The bot's own automation (actor `watchkeeper:automation`) holds this role too.
    automation: bool = False

    @field_validator("usergroups")
    @classmethod
    def _not_resolved_yet(cls, value: list[str]) -> list[str]:
        # A group that grants nothing would be a silent trap at 3 a.m.: refuse it instead.
        if value:
            raise ValueError("user groups are not resolved into members yet: list the users")
        return value
