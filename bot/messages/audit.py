"""User-facing strings of the audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.mentions import code

if TYPE_CHECKING:
    pass

# The audit log (`/audit`, checkpoints).


def audit_checkpoint(seq: int, chain_hash: str, line: str) -> str:
    return f":lock: Audit checkpoint: row {seq}, hash `{chain_hash[:16]}…`\n{code(line)}"


def audit_recent_title(filter_text: str | None) -> str:
    return f"Audit log — latest entries{f' for {filter_text}' if filter_text else ''}"


def audit_recent_empty(filter_text: str | None) -> str:
    return f"No audit entries{f' for {filter_text}' if filter_text else ''}."


def audit_recent_older(command: str) -> str:
    return f"Older entries: {code(command)}"


def audit_verify_intact(rows: int, rate: float, checkpoints: int) -> str:
    cps = f"; {checkpoints} checkpoint(s) match" if checkpoints else ""
    return (
        f":white_check_mark: Audit chain intact: {rows:,} rows checked ({rate:,.0f} rows/s){cps}."
    )


def audit_verify_broken(rows: int, problem: str) -> str:
    return (
        f":rotating_light: Audit chain BROKEN after {rows:,} good rows — {problem}. "
        "Keep the database as it is and tell security; `watchkeeper audit verify` shows the same."
    )


def audit_verify_unanchored(reason: str) -> str:
    return (
        f":rotating_light: Audit chain NOT verified — {reason}. Without the published "
        "checkpoints a cut tail cannot be seen: restore the file or tell security."
    )


def audit_key_missing() -> str:
    return "The audit key is not configured (`audit.key` in app.yaml), so I cannot check the chain."
