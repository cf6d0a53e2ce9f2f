"""The tamper-evident audit log: who did what, to what, with which result.

Every part of the bot writes through `writer.append` or `writer.append_many` (inside its
own transaction); `verifier.verify` recomputes the chain, `export.export_entries` streams
rows out for a SIEM, and `checkpoint.publish_checkpoint` puts the chain head where the
database cannot reach. See docs/audit.md for what is recorded and how to keep the key.

This package's face imports nothing on purpose: `bot.config` imports `bot.audit.config`,
and a face that imported the writer would lead back to `bot.config` (docs/architecture.md,
"The rooms").
"""
