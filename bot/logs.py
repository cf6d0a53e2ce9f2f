"""How the service logs: to stderr, as text (the demo's default) or one JSON object per
line (`logging.format: json`, for log pipelines), every root handler behind a filter that
takes Slack's credential URLs out of every record.

httpx logs each request's URL at INFO, which is worth keeping for Web API and fleet calls,
but a `response_url` is itself a credential. The filter sits on the handler, so it also
covers records of loggers an operator turns up later (SQLAlchemy at DEBUG prints outbox
rows, response_urls included) and exception text (httpx errors name the URL).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Literal

from bot.log_context import current
from integrations.slack.redact import redact_credential_urls

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LogFormat = Literal["text", "json"]
# APScheduler logs every job run at INFO: most of a quiet demo's log. Useful when
# debugging the scheduler only.
CHATTY = ("apscheduler",)


class RedactCredentialUrls(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed logging call is the formatter's to report
            return True
        redacted = redact_credential_urls(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Formatter.format prints exc_text when it is set, so the traceback is redacted.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            traceback = redact_credential_urls(record.exc_text)
            if traceback != record.exc_text:
                # The exception object still holds the URL; no handler gets to print it.
                record.exc_text, record.exc_info = traceback, None
        if record.stack_info:
            record.stack_info = redact_credential_urls(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One object per line: time, level, logger, message, the ids bound in
    `bot.log_context`, and the exception's traceback as one string."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **current(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class _OwnHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler this module made, whose format it may change; a test runner's or an
    embedding program's handlers keep their own."""


def configure_logging(level: int = logging.INFO, fmt: LogFormat = "text") -> None:
    """Log to stderr at `level` in `fmt`, unless the root logger has a handler already (a
    test runner's, an embedding program's), and redact credential URLs in every root
    handler. Calling it again (once the config is read) changes level and format only."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(_OwnHandler(sys.stderr))
    root.setLevel(level)
    for handler in root.handlers:
        if isinstance(handler, _OwnHandler):
            handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(FORMAT))
        if not any(isinstance(f, RedactCredentialUrls) for f in handler.filters):
            handler.addFilter(RedactCredentialUrls())
    for name in CHATTY:
        logging.getLogger(name).setLevel(level if level <= logging.DEBUG else logging.WARNING)
