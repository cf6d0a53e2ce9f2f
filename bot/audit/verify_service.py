"""`verify` as people ask for it: the chain checked against the configured checkpoint log,
and (from Slack) a row recording who checked and what they found.

A configured checkpoint file that is missing or unreadable fails the check: it is the only
witness of the rows appended before the last published head, so losing it must be seen,
never skipped (docs/audit.md, "Checkpoints").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.audit import vocabulary as v
from bot.audit.actors import Actor
from bot.audit.config import AuditConfig
from bot.audit.hash_chain import KeyRing
from bot.audit.published import Checkpoint, PublishedLogUnreadable, read_published
from bot.audit.verifier import VerifyReport, verify
from bot.audit.writer import append
from bot.db.unit_of_work import writing
from bot.runtime import Runtime


def configured_checkpoints(audit: AuditConfig) -> list[Checkpoint]:
    """The published log of `audit.checkpoint_file`, none when no file is configured;
    `PublishedLogUnreadable` naming the file when it is missing, unreadable or garbled."""
    path: Path | None = audit.checkpoint_file
    return read_published(path) if path is not None else []


@dataclass(frozen=True)
class Verification:
    """What a check found: the report, or why it could not be made (`unreadable`)."""

    report: VerifyReport | None
    unreadable: str | None = None

    @property
    def ok(self) -> bool:
        return self.report is not None and self.report.ok

    def problem(self) -> str | None:
        if self.report is None:
            return self.unreadable
        return None if self.report.problem is None else str(self.report.problem)


async def verify_and_record(rt: Runtime, actor: Actor) -> Verification:
    """Check the chain against the configured checkpoints and record that `actor` did.

    Raises `AuditKeyMissing` before any work when there is no key to check with.
    """
    keys = KeyRing.from_config(rt.config.audit)
    try:
        checkpoints = configured_checkpoints(rt.config.audit)
    except PublishedLogUnreadable as exc:
        found = Verification(None, str(exc))
    else:
        async with rt.engine.connect() as conn:
            found = Verification(await verify(conn, keys, checkpoints=checkpoints))
    report = found.report
    async with writing(rt.sessions) as session:
        await append(
            session,
            key=keys,
            actor=actor,
            action=v.AUDIT_VERIFIED,
            target="audit_log",
            params={
                "rows_checked": report.rows_checked if report else 0,
                "checkpoints_checked": report.checkpoints_checked if report else 0,
                "problem": found.problem(),
            },
            outcome=v.INTACT if found.ok else v.BROKEN,
            clock=rt.clock,
        )
    return found
