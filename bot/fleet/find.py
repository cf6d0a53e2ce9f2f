"""`/fleet find`: one streamed pass over the services a selector names, keeping only what
the answer shows (the count, a breakdown, the first matches) and the CSV of all of them,
so a hundred thousand matches cost a CSV's bytes, not a hundred thousand objects."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot import outbox
from bot.db.unit_of_work import writing
from bot.fleet.targets import matching, target_digest
from bot.outbox import Message
from bot.runtime import Runtime
from integrations.fleet.models import ServiceSummary
from integrations.fleet.selector import Selector

BREAKDOWN = ("engine", "region", "version", "health")
CSV_COLUMNS = ("name", "engine", "region", "version", "health", "plan", "tags")
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = frozenset("=+-@\t\r")


def csv_cell(value: str) -> str:
    """A cell a spreadsheet shows as text: a leading formula character is neutralised
    with a quote, as OWASP recommends for CSV injection."""
    return f"'{value}" if value[:1] in _FORMULA_START else value


@dataclass
class Found:
    count: int = 0
    by: dict[str, Counter[str]] = field(default_factory=lambda: {k: Counter() for k in BREAKDOWN})
    first: list[ServiceSummary] = field(default_factory=list)
    csv_text: str = ""
    # The stable hash of the whole list (bot.fleet.targets.target_digest).
    digest: str = ""


# What a match shares with many others: everything but its name. The CSV text and the
# breakdown are worked out once per distinct profile, not once per match.
Profile = tuple[str, str, str | None, str, str | None, tuple[tuple[str, str], ...]]
_PLAIN = re.compile(r"[A-Za-z0-9_.:/][A-Za-z0-9_.:/\-]*")


def _csv_line(cells: Sequence[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([csv_cell(c) for c in cells])
    return out.getvalue()


def _name_cell(name: str) -> str:
    # Most names need neither quoting nor neutralising; the rest go through the writer.
    return name if _PLAIN.fullmatch(name) else _csv_line([name])[:-1]


def _tail(profile: Profile) -> str:
    """`,engine,region,...\n`: the rest of the line of a match with this profile."""
    kind, region, version, health, plan, tags = profile
    joined = ";".join(f"{k}={v}" for k, v in tags)
    return "," + _csv_line([kind, region, version or "", health, plan or "", joined])


async def find(rt: Runtime, selector: Selector, *, first: int = 10) -> Found:
    found = Found()
    lines = [_csv_line(CSV_COLUMNS)]
    names: list[str] = []
    profiles: Counter[Profile] = Counter()
    tails: dict[Profile, str] = {}
    async for batch in matching(rt, selector):
        for s in batch:
            names.append(s.name)
            tags = tuple(sorted(s.tags.items())) if s.tags else ()
            profile = (s.kind, s.region, s.version, s.health, s.plan, tags)
            profiles[profile] += 1
            tail = tails.get(profile)
            if tail is None:
                tail = tails[profile] = _tail(profile)
            lines.append(_name_cell(s.name) + tail)
        if len(found.first) < first:
            found.first += batch[: first - len(found.first)]
    for (kind, region, version, health, _plan, _tags), n in profiles.items():
        found.by["engine"][kind] += n
        found.by["region"][region] += n
        found.by["version"][version or "unknown"] += n
        found.by["health"][health] += n
    found.count = len(names)
    found.csv_text = "".join(lines)
    found.digest = target_digest(names)
    return found


async def publish(
    rt: Runtime, *, channel: str, answer: Message, csv_text: str, title: str, filename: str
) -> None:
    """Post the answer in the channel and share the CSV in its thread: both rows of the
    outbox in one transaction, so the file never arrives without its answer."""
    key = f"fleet-find:{uuid.uuid4().hex}"
    async with writing(rt.sessions) as session:
        outbox.post(session, channel=channel, message=answer, key=key, clock=rt.clock)
        outbox.upload(
            session,
            channel=channel,
            filename=filename,
            title=title,
            content=csv_text,
            thread_key=key,
            clock=rt.clock,
        )
    rt.wake_outbox()
