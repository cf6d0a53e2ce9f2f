"""The base of every `app.yaml` section's models. It lives apart from bot.config because
bot.config imports the sections (bot.actions.policy, bot.oncall.config, ...)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    # A misspelt key is an error, not a silently ignored setting; config is read once in
    # main() and never changed after.
    model_config = ConfigDict(extra="forbid", frozen=True)
