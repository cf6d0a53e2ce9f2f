"""`/fleet find`: one streamed pass over the services a selector names, keeping only what
the answer shows (the count, a breakdown, the first matches) and the CSV of all of them,
so a hundred thousand matches cost a CSV's bytes, not a hundred thousand objects."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
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
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """A cell a spreadsheet shows as text: a leading formula character is neutralised
    with a quote, as OWASP recommends for CSV injection."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


@dataclass
class Found:
    count: int = 0
    by: dict[str, Counter[str]] = field(default_factory=lambda: {k: Counter() for k in BREAKDOWN})
    first: list[ServiceSummary] = field(default_factory=list)
    csv_text: str = ""
    # The stable hash of the whole list (bot.fleet.targets.target_digest).
    digest: str = ""


def _row(s: ServiceSummary) -> list[str]:
    tags = ";".join(f"{k}={v}" for k, v in sorted(s.tags.items()))
    values = (s.name, s.kind, s.region, s.version or "", s.health, s.plan or "", tags)
    return [csv_cell(v) for v in values]


async def find(rt: Runtime, selector: Selector, *, first: int = 10) -> Found:
    found = Found()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    names: list[str] = []
    async for s in matching(rt, selector):
        found.count += 1
        names.append(s.name)
        found.by["engine"][s.kind] += 1
        found.by["region"][s.region] += 1
        found.by["version"][s.version or "unknown"] += 1
        found.by["health"][s.health] += 1
        if len(found.first) < first:
            found.first.append(s)
        writer.writerow(_row(s))
    found.csv_text = out.getvalue()
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
