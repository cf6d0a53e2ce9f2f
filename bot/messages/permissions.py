"""Words of the permission step (bot/permissions)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.mentions import code

PERMISSION_UNKNOWN_WORD = "I do not know that word here, so I did nothing. Try `help`."
PLACE_UNCHECKABLE = "I cannot tell where that incident lives, so I did nothing."


def verb_no_rule(verb: str) -> str:
    return f"Nobody may {code(verb)} here: no `permissions:` rule names it."


def verb_not_permitted(verb: str, roles: Sequence[str]) -> str:
    named = " or ".join(f"*{r}*" for r in roles)
    return f"You may not {code(verb)}: it needs the role {named}."


def incident_elsewhere(kind: str, number: int, channel: str) -> str:
    return (
        f"{kind.capitalize()} #{number} is handled in <#{channel}>: act on it from its "
        "channel or its thread."
    )
