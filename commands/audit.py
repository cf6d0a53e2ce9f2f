"""`/audit`: the latest entries of the audit log, and a check of its chain."""

from __future__ import annotations

import re
from datetime import UTC

from bot import block_kit, messages
from bot.audit.actors import Actor
from bot.audit.hash_chain import AuditKeyMissing
from bot.audit.models import AuditEntry
from bot.audit.query import MAX_PAGE, RecentQuery, recent_page
from bot.audit.verify_service import verify_and_record
from bot.mentions import code, escape, mention_user
from bot.outbox import Message
from bot.parts import AppParts
from bot.registry import CommandError, CommandRegistry, Invocation
from bot.runtime import Runtime
from bot.slack_ids import is_user_id, mentioned_user

_BEFORE = re.compile(r"before:(\d+)")
RECENT_USAGE = f"recent [@user|target] [N 1-{MAX_PAGE}]"


def parse_recent(args: list[str], command: str) -> tuple[RecentQuery, str | None]:
    """The query, and the filter as the user wrote it (for titles and the next page)."""
    actor = actor_name = target = shown = None
    limit, before = 10, None
    for word in args:
        mention, paged = mentioned_user(word), _BEFORE.fullmatch(word)
        if word.isdecimal():
            limit = int(word)
            if not 1 <= limit <= MAX_PAGE:
                raise CommandError(messages.usage(command, RECENT_USAGE))
        elif paged:
            before = int(paged.group(1))
        elif shown is not None:
            raise CommandError(messages.usage(command, RECENT_USAGE))
        elif mention:
            actor, shown = mention, word
        elif word.startswith("@") and len(word) > 1:
            actor_name, shown = word[1:], word
        elif is_user_id(word) or word.startswith(("cli:", "watchkeeper:")):
            actor, shown = word, word
        else:
            target, shown = word, word
    query = RecentQuery(
        actor=actor, actor_name=actor_name, target=target, limit=limit, before=before
    )
    return query, shown


def _who(entry: AuditEntry) -> str:
    return mention_user(entry.actor) if is_user_id(entry.actor) else code(entry.actor)


def _line(entry: AuditEntry) -> str:
    when = entry.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    # Targets, refs and parameters may be what someone typed: shown as typed.
    line = f"`#{entry.seq}` {when} · {_who(entry)} · *{escape(entry.action)}* {code(entry.target)}"
    line += f" → {escape(entry.outcome)}"
    if entry.ref:
        line += f" · ref {code(entry.ref)}"
    if entry.params not in ("{}", ""):
        line += f"\n      {code(block_kit.clip(entry.params, 160))}"
    return line


def _sections(lines: list[str]) -> list[block_kit.Block]:
    """Lines packed into as few sections as Slack's 3,000-character limit allows."""
    out: list[block_kit.Block] = []
    chunk = ""
    for line in lines:
        if chunk and len(chunk) + len(line) + 1 > block_kit.SECTION_LIMIT:
            out.append(block_kit.section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        out.append(block_kit.section(chunk))
    return out


async def recent(inv: Invocation, rt: Runtime) -> Message:
    command = rt.command_name("audit")
    query, shown = parse_recent(inv.args, command)
    page = await recent_page(rt, query)
    if not page.entries:
        return Message(text=messages.audit_recent_empty(shown))
    title = messages.audit_recent_title(shown)
    body = [block_kit.header(title), *_sections([_line(e) for e in page.entries])]
    if page.older is not None:
        words = [w for w in (shown, str(query.limit), f"before:{page.older}") if w]
        older = f"{command} recent {' '.join(words)}"
        body.append(block_kit.context(messages.audit_recent_older(older)))
    return Message(text=title, blocks=body)


async def verify_chain(inv: Invocation, rt: Runtime) -> Message:
    command = rt.command_name("audit")
    if inv.args:
        raise CommandError(messages.usage(command, "verify"))
    try:
        found = await verify_and_record(rt, Actor.slack(inv.user_id, inv.caller.user_name))
    except AuditKeyMissing:
        return Message(text=messages.audit_key_missing())
    if found.report is None:
        return Message(text=messages.audit_verify_unanchored(str(found.unreadable)))
    report = found.report
    if report.problem is None:
        text = messages.audit_verify_intact(
            report.rows_checked, report.rows_per_second, report.checkpoints_checked
        )
    else:
        text = messages.audit_verify_broken(report.rows_checked, str(report.problem))
    return Message(text=text)


def register(registry: CommandRegistry[Runtime]) -> None:
    registry.group("audit", "who ran what: the tamper-evident audit log")
    registry.add(
        "audit",
        "recent",
        usage=RECENT_USAGE,
        summary="the latest audit entries, by a person or about a target; only you see them",
        verb="audit.read",
    )(recent)
    registry.add(
        "audit",
        "verify",
        usage="verify",
        summary="recompute the audit chain and name the first bad row",
        verb="audit.verify",
    )(verify_chain)


def install(parts: AppParts) -> None:
    register(parts.commands)
