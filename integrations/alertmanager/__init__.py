"""Alertmanager: webhook (version 4) intake, the API v2 client for silences and alerts, and
a runner of the real binary for tests and benchmarks."""

from integrations.alertmanager.client import AlertmanagerClient, as_matchers
from integrations.alertmanager.errors import (
    AlertmanagerError,
    AlertmanagerProtocolError,
    AlertmanagerRejected,
    AlertmanagerUnavailable,
    SilenceNotFound,
)
from integrations.alertmanager.models import (
    Matcher,
    PostableAlert,
    Silence,
    WebhookAlert,
    WebhookMessage,
)
from integrations.alertmanager.parse import SOURCE, page_from_alert, parse_webhook

__all__ = [
    "SOURCE",
    "AlertmanagerClient",
    "AlertmanagerError",
    "AlertmanagerProtocolError",
    "AlertmanagerRejected",
    "AlertmanagerUnavailable",
    "Matcher",
    "PostableAlert",
    "Silence",
    "SilenceNotFound",
    "WebhookAlert",
    "WebhookMessage",
    "as_matchers",
    "page_from_alert",
    "parse_webhook",
]
