"""Grafana unified alerting: webhook contact point intake, with its optional HMAC."""

from integrations.grafana.parse import SOURCE, parse_webhook
from integrations.grafana.signature import DEFAULT_HEADER, sign, verify

__all__ = ["DEFAULT_HEADER", "SOURCE", "parse_webhook", "sign", "verify"]
