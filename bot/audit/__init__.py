"""The tamper-evident audit log: who did what, to what, with which result.

Every part of the bot writes through `append` or `append_many` (inside its own
transaction); `verify` recomputes the chain, `export_entries` streams rows out for a SIEM, and
`publish_checkpoint` puts the chain head where the database cannot reach. See
docs/audit.md for what is recorded and how to keep the key.
"""

from bot.audit.actors import AUTOMATION, Actor, cli_actor
from bot.audit.canonical import REDACTED, canonical_json, canonical_params, redact
from bot.audit.checkpoint import Checkpoint, publish_checkpoint, read_checkpoints
from bot.audit.diagnose import Problem
from bot.audit.export import ExportFilter, export_entries
from bot.audit.hash_chain import AuditKeyMissing, ChainKey, KeyRing
from bot.audit.verifier import VerifyReport, verify
from bot.audit.writer import (
    AuditChainBroken,
    AuditRecord,
    NewEntry,
    append,
    append_many,
    record_config_loaded,
)

__all__ = [
    "AUTOMATION",
    "REDACTED",
    "Actor",
    "AuditChainBroken",
    "AuditKeyMissing",
    "AuditRecord",
    "ChainKey",
    "Checkpoint",
    "ExportFilter",
    "KeyRing",
    "NewEntry",
    "Problem",
    "VerifyReport",
    "append",
    "append_many",
    "canonical_json",
    "canonical_params",
    "cli_actor",
    "export_entries",
    "publish_checkpoint",
    "read_checkpoints",
    "record_config_loaded",
    "redact",
    "verify",
]
