"""How one bot process runs: where it listens and drains, its name and lease among
replicas, and where it stores its state (`server:`, `scheduler:`, `storage:` in app.yaml)."""

from __future__ import annotations

import logging
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from bot.config_model import StrictModel


class ServerConfig(StrictModel):
    host: str = "127.0.0.1"
    # 0 picks a free port (tests and side-by-side demos).
    port: int = Field(default=8780, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # On SIGTERM: how long requests, work started after a Slack ack and the outbox may
    # take to finish before the process exits anyway (what is left stays queued).
    drain_seconds: float = Field(default=8.0, ge=0, le=300)
    # Slack commands acked whose work has not finished. Past it a new slash command is
    # answered "busy" in its ack and not queued: a backlog without bound grows memory and
    # every answer's delay, and would be lost with the process anyway.
    max_in_flight: int = Field(default=200, ge=1, le=100_000)
    # Before a request is authenticated its sender holds the server; these bound for how
    # long and how many (bot/http_gate.py, bot/http_server.py, docs/security.md).
    # The request line and headers must arrive within this.
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # The whole body must arrive within this of the headers, else 408.
    body_timeout_seconds: float = Field(default=10.0, gt=0, le=10)
    # Requests whose body is still arriving; past it one more is answered 503.
    max_pending_bodies: int = Field(default=64, ge=1, le=10_000)
    # Open connections; past it a new request is answered 503 at once.
    max_connections: int = Field(default=1000, ge=16, le=100_000)
    # This replica's name in leases (outbox lanes, scheduler leader); unset: hostname:pid.
    # A process starting under a name takes back at once the leases that name holds, since
    # their holder must be dead: two live processes must never share one (set it per pod).
    replica_id: str | None = None

    @field_validator("replica_id")
    @classmethod
    def _lease_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9._:-]{1,63}", value):
            raise ValueError("replica_id is 1-63 of A-Z a-z 0-9 . _ : - (e.g. the pod name)")
        return value


class SchedulerConfig(StrictModel):
    """The leader lease among replicas: a dead leader's jobs move within about
    `lease_seconds + renew_seconds`; a stopped one hands them over at once."""

    lease_seconds: float = Field(default=15.0, gt=0, le=600)
    renew_seconds: float = Field(default=5.0, gt=0, le=300)

    @model_validator(mode="after")
    def _renewed_in_time(self) -> SchedulerConfig:
        if self.renew_seconds >= self.lease_seconds:
            raise ValueError("renew_seconds must be shorter than lease_seconds")
        return self


class StorageConfig(StrictModel):
    url: str = "sqlite+aiosqlite:///./var/watchkeeper.db"

    @field_validator("url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+psycopg://")):
            raise ValueError("use sqlite+aiosqlite:///PATH or postgresql+psycopg://USER@HOST/DB")
        return value


class LoggingConfig(StrictModel):
    # text for people at a terminal (the demo); json for a log pipeline: one object per
    # line with the request, incident, action and operation ids of the work it is about.
    format: Literal["text", "json"] = "text"
    level: Literal["debug", "info", "warning", "error"] = "info"

    @property
    def level_number(self) -> int:
        return int(logging.getLevelName(self.level.upper()))
