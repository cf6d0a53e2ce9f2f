"""How the service logs: to stderr at INFO, every root handler behind a filter that
takes Slack's credential URLs out of every record.

httpx logs each request's URL at INFO, which is worth keeping for Web API and fleet calls,
but a `response_url` is itself a credential. The filter sits on the handler, so it also
covers records of loggers an operator turns up later (SQLAlchemy at DEBUG prints outbox
rows, response_urls included) and exception text (httpx errors name the URL).
"""

from __future__ import annotations

import logging

from integrations.slack.redact import redact_credential_urls

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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


def configure_logging(level: int = logging.INFO) -> None:
    """Log to stderr at `level`, unless the root logger has a handler already (a test
    runner's, an embedding program's), and redact credential URLs in every root handler.
    Calling it again adds nothing."""
    logging.basicConfig(level=level, format=FORMAT)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactCredentialUrls) for f in handler.filters):
            handler.addFilter(RedactCredentialUrls())
