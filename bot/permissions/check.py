"""The start-up check of `permissions:` against the verbs the assembled bot declares: run
by `open_bot` and by `watchkeeper check-config` alike, so a config that passes the check
also starts. (A rule naming a role `roles:` lacks is a plain config error, in bot/config.py.)"""

from __future__ import annotations

from bot.config import ConfigError
from bot.parts import AppParts
from bot.permissions.verbs import all_of


def check_permissions(parts: AppParts) -> None:
    """Every `permissions:` rule names a verb some command or button declares: a rule
    that matches nothing is a typo that grants nothing, found at start rather than at 3 a.m."""
    declared = all_of([*parts.commands.verbs(), *parts.buttons.verbs()])
    unmatched = parts.config.permissions.unmatched(declared)
    if unmatched:
        raise ConfigError(
            [(f"permissions.{p}", "matches no command or button verb") for p in unmatched]
        )
