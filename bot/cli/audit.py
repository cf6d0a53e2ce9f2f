"""The audit log: `audit verify` checks the chain, `audit export` streams it, `audit checkpoint`.

`verify` exits 0 when the chain is intact and 1 naming the first bad row; `export` writes
JSON Lines or CSV to stdout in constant memory, for a SIEM or an archive.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.audit.checkpoint import publish_checkpoint
from bot.audit.export import CAMPAIGN_ID, ExportFilter, export_entries
from bot.audit.hash_chain import AuditKeyMissing, KeyRing
from bot.audit.parallel import verify_in_processes
from bot.audit.published import (
    Checkpoint,
    PublishedLogUnreadable,
    read_published,
    scan_channel_copy,
)
from bot.audit.verifier import VerifyReport
from bot.audit.verify_service import configured_checkpoints
from bot.cli.common import config_or_exit
from bot.clock import utcnow
from bot.config import Config
from bot.db.engine import create_engine, session_factory

_AGO = re.compile(r"(\d+)([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
# Also accepted after the action (`audit verify --config x`); SUPPRESS keeps the parent's.
_CONFIG = "path of app.yaml"



def campaign_id(text: str) -> str:
    """`--campaign`: a campaign id as `/fleet campaign list` shows it."""
    if not CAMPAIGN_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(f"not a campaign id (cmp- and 8 hex digits): {text!r}")
    return text

def parse_time(text: str, now: datetime | None = None) -> datetime:
    """ISO 8601 (a date, or a time with or without zone; no zone means UTC), `now`, or
    an age such as `90m`, `24h`, `7d`."""
    now = now or utcnow()
    if text == "now":
        return now
    ago = _AGO.fullmatch(text)
    if ago:
        return now - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a time: {text!r} (use 2024-05-01, 2024-05-01T03:00Z, now, 24h or 7d)"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="audit_action", required=True)
    check = actions.add_parser("verify", help="recompute the chain; exit 1 at the first bad row")
    check.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=_CONFIG)
    check.add_argument("--since", type=int, metavar="SEQ", help="start at this row")
    where = check.add_mutually_exclusive_group()
    where.add_argument(
        "--checkpoints",
        type=Path,
        metavar="FILE",
        help="the published checkpoint log to check against (default: audit.checkpoint_file)",
    )
    where.add_argument(
        "--channel-copy",
        type=Path,
        metavar="FILE",
        help="check against the checkpoints found in a copy of the audit channel's history",
    )
    where.add_argument("--no-checkpoints", action="store_true", help="ignore checkpoints")
    check.add_argument(
        "--jobs",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="processes for a big table (default: CPUs, at most 4)",
    )

    out = actions.add_parser("export", help="stream rows as JSON Lines or CSV to stdout")
    out.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=_CONFIG)
    out.add_argument("--since", type=parse_time, metavar="TIME", help="from this time (incl.)")
    out.add_argument("--until", type=parse_time, metavar="TIME", help="to this time (excl.)")
    out.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    out.add_argument("--actor", help="only rows by this actor id (UALICE01, cli:root, ...)")
    out.add_argument("--target", help="only rows about this target")
    out.add_argument(
        "--campaign",
        type=campaign_id,
        metavar="ID",
        help="only one campaign's rows: its lifecycle and every target's action",
    )

    point = actions.add_parser("checkpoint", help="publish the chain head now")
    point.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=_CONFIG)
    point.add_argument("--force", action="store_true", help="even if the head has not moved")


def _checkpoints(config: Config, args: argparse.Namespace) -> tuple[list[Checkpoint], str]:
    """The checkpoints to check against and where they came from ("" for none).

    A configured or named log that cannot be read raises `PublishedLogUnreadable`.
    """
    if args.no_checkpoints:
        return [], ""
    if args.channel_copy is not None:
        path = Path(args.channel_copy)
        try:
            with path.open(encoding="utf-8") as lines:
                return scan_channel_copy(lines), str(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise PublishedLogUnreadable(path, f"cannot be read ({exc})") from None
    if args.checkpoints is not None:
        return read_published(Path(args.checkpoints)), str(args.checkpoints)
    configured = config.audit.checkpoint_file
    return configured_checkpoints(config.audit), str(configured) if configured else ""


def describe(report: VerifyReport) -> str:
    rate = f"{report.rows_checked:,} rows checked in {report.seconds:.2f} s"
    rate += f" ({report.rows_per_second:,.0f} rows/s)"
    if report.problem is None:
        span = f", seq {report.first_seq}–{report.last_seq}" if report.rows_checked else ""
        matched = report.checkpoints_checked
        cps = f"; {matched} checkpoint(s) match" if matched else ""
        return f"audit chain intact: {rate}{span}{cps}"
    p = report.problem
    return f"audit chain BROKEN at row {p.seq} ({p.kind}): {p.detail}\n{rate} before it"


async def _verify(config: Config, args: argparse.Namespace) -> int:
    KeyRing.from_config(config.audit)  # fail before any work when the key is missing
    try:
        checkpoints, source = _checkpoints(config, args)
    except PublishedLogUnreadable as exc:
        # The log is the only witness of rows cut after its last line: no log, no verdict.
        print(f"audit chain NOT verified: {exc}", file=sys.stderr)
        print("restore the file, name another with --checkpoints, or pass --no-checkpoints",
              file=sys.stderr)  # fmt: skip
        return 1
    # This process only walks acyclic rows; cyclic collections would rescan each batch.
    gc.disable()
    engine = create_engine(config.storage.url)
    try:
        async with engine.connect() as conn:
            report = await verify_in_processes(
                conn,
                config.storage.url,
                config.audit,
                jobs=max(1, args.jobs),
                since=args.since,
                checkpoints=checkpoints,
            )
    finally:
        await engine.dispose()
    if source:
        print(f"checkpoints: {len(checkpoints)} read from {source}")
    print(describe(report))
    return 0 if report.ok else 1


async def _export(config: Config, args: argparse.Namespace) -> int:
    where = ExportFilter(
        since=args.since,
        until=args.until,
        actor=args.actor,
        target=args.target,
        campaign=args.campaign,
    )
    engine = create_engine(config.storage.url)
    try:
        async with engine.connect() as conn:
            count = await export_entries(conn, sys.stdout, fmt=args.format, where=where)
        sys.stdout.flush()
    finally:
        await engine.dispose()
    print(f"exported {count:,} rows", file=sys.stderr)
    return 0


async def _checkpoint(config: Config, args: argparse.Namespace) -> int:
    engine = create_engine(config.storage.url)
    try:
        published = await publish_checkpoint(
            session_factory(engine), config=config, force=args.force
        )
    finally:
        await engine.dispose()
    if published is None:
        print("the chain head has not moved since the last checkpoint; nothing published")
    else:
        print(published.line())
    return 0


def run(args: argparse.Namespace) -> int:
    config = config_or_exit(args)
    action = {"verify": _verify, "export": _export, "checkpoint": _checkpoint}[args.audit_action]
    try:
        return asyncio.run(action(config, args))
    except AuditKeyMissing as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `audit export | head`: the reader left; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
