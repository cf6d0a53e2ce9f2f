"""Every user-facing string of the bot, in one place: this package, one module per area.

Callers use `from bot import messages` and `messages.NAME`; the areas' modules are
re-exported here so a string is found by name without knowing its area.
"""

from __future__ import annotations

from bot.mentions import code, escape

APP = "Watchkeeper"


def unknown_subcommand(command: str, word: str, suggestion: str | None) -> str:
    # `word` is what the user typed: shown, never read as markup.
    hint = f" Did you mean `{command} {suggestion}`?" if suggestion else ""
    return f"{code(f'{command} {word}')} is not a command I know.{hint} Try `{command} help`."


def unknown_service(name: str, suggestion: str | None) -> str:
    hint = f"; did you mean {code(suggestion)}?" if suggestion else "."
    return f"No service named {code(name)}{hint}"


def unbalanced_quotes(detail: str) -> str:
    return f"I could not read that command ({escape(detail)}); check the quotes."


def usage(command: str, usage_text: str) -> str:
    return f"Usage: `{command} {usage_text}`"


def fleet_unavailable(backend_detail: str) -> str:
    return (
        f"The fleet API is not answering ({escape(backend_detail)}). Nothing was changed; "
        "try again in a minute, or check the control plane's status page."
    )


def fleet_rejected(detail: str) -> str:
    return f"The fleet API refused the request: {escape(detail)}"


def internal_error(reference: str) -> str:
    return f"Something went wrong on my side (ref {code(reference)}); it is in my logs."


def busy(command: str) -> str:
    return (
        f"I am overloaded right now and did not run your {code(command)}; nothing was changed. "
        "Try again in a minute."
    )


STALE_BUTTON = "That button no longer does anything; run the command again."
STORAGE_UNAVAILABLE = (
    ":warning: I cannot reach my database right now, so I could not handle that. "
    "Try again in a minute; `/fleet ops` shows what was recorded."
)
FOREIGN_WORKSPACE = "This app answers only in the workspace it is installed for; nothing was done."
MENTION_HELP = "Mention me in an incident thread with a command, e.g. `@watchkeeper ack`."

HELP_FOOTER = "Arguments in [brackets] are optional. Add `-- reason` to say why."
EMPTY_FLEET = "No services are configured in any fleet backend."


from bot.messages.action_cards import *  # noqa: E402, F403
from bot.messages.actions import *  # noqa: E402, F403
from bot.messages.audit import *  # noqa: E402, F403
from bot.messages.automation import *  # noqa: E402, F403
from bot.messages.campaigns import *  # noqa: E402, F403
from bot.messages.fleet_find import *  # noqa: E402, F403
from bot.messages.incidents import *  # noqa: E402, F403
from bot.messages.monitoring import *  # noqa: E402, F403
from bot.messages.oncall import *  # noqa: E402, F403
from bot.messages.permissions import *  # noqa: E402, F403
from bot.messages.review import *  # noqa: E402, F403
from bot.messages.views import *  # noqa: E402, F403
