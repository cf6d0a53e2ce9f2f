"""What `/fleet find` says (docs/campaigns.md, "Selector grammar")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from bot.mentions import code, escape
from integrations.fleet.models import ServiceSummary
from integrations.fleet.selector import SelectorError

FIND_USAGE = "find <selector>, e.g. find engine=postgres region=us-east-1 version<16.4"
# The values of one breakdown shown by name; the rest are summed as "others".
BREAKDOWN_SHOWN = 6


def bad_selector(command: str, exc: SelectorError) -> str:
    where = f"{code(exc.term)}: " if exc.term else ""
    return (
        f"I could not read that selector: {where}{escape(exc.why)}. "
        f"`{command} help` has examples; docs/campaigns.md has the whole grammar."
    )


def nothing_found(selector: str) -> str:
    return f"No service matches {code(selector)}."


def find_posted(count: int) -> str:
    return (
        f"{count:,} services match; the answer is in the channel, "
        "with the whole list as a CSV file in its thread."
    )


def _breakdown(counts: Counter[str]) -> str:
    shown = counts.most_common(BREAKDOWN_SHOWN)
    parts = [f"{escape(value)} {n:,}" for value, n in shown]
    others = sum(counts.values()) - sum(n for _, n in shown)
    if others:
        parts.append(f"others {others:,}")
    return " · ".join(parts)


def find_answer(
    selector: str,
    count: int,
    by: Mapping[str, Counter[str]],
    first: Sequence[ServiceSummary],
    asked_by: str,
) -> str:
    lines = [f"*{count:,} services match* {code(selector)} (asked by {asked_by})"]
    lines += [f"• *{what}*: {_breakdown(counts)}" for what, counts in by.items()]
    shown = ", ".join(code(s.name) for s in first)
    more = f" and {count - len(first):,} more" if count > len(first) else ""
    lines.append(f"First matches: {shown}{more}. The whole list is in the thread (CSV).")
    return "\n".join(lines)


def find_csv_title(count: int) -> str:
    return f"{count:,} services"
