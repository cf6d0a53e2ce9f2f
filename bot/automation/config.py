"""The `runbooks:` and `automation:` sections of app.yaml: which pages the bot fixes by
itself, with which action, and the limits that keep it from running away.

    automation:
      limits: {runs_per_service_per_hour: 3, max_concurrent: 2, stop_after_failures: 3}
    runbooks:
      - name: replica-lag
        match: {alertname: PostgresReplicationLag}      # label -> glob, all must match
        action: reinit
        params: {member: "{member}"}                    # templated from the page's labels
        mode: auto                                      # suggest | auto | dry-run
        limits: {runs_per_service_per_hour: 2}

A runbook's own limits apply to its runs; `automation.limits` to all runs together. The
first runbook whose `match` fits a page decides; a page no runbook matches is left to
people, as before.
"""

from __future__ import annotations

import string
from fnmatch import fnmatchcase
from typing import Literal

from pydantic import Field, field_validator, model_validator

from bot.actions.catalog import CATALOG
from bot.config_model import StrictModel

Mode = Literal["suggest", "auto", "dry-run"]
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"


class Limits(StrictModel):
    """Unset: no such limit at this level (the other level may still have one)."""

    runs_per_service_per_hour: int | None = Field(default=None, ge=1)
    max_concurrent: int | None = Field(default=None, ge=1)
    # Never run when the service would have fewer healthy members than this meanwhile.
    min_healthy_members: int | None = Field(default=None, ge=0)
    # This many failures in a row (since the last `/fleet automation resume`): stop.
    stop_after_failures: int | None = Field(default=None, ge=1)


class RunbookConfig(StrictModel):
    name: str = Field(pattern=NAME_PATTERN)
    # label (or page field: service, kind, severity, source, title) -> glob pattern.
    match: dict[str, str] = Field(min_length=1)
    action: str
    # parameter -> value; `{label}` is replaced by the page's label of that name.
    params: dict[str, str] = Field(default_factory=dict)
    mode: Mode = "suggest"
    limits: Limits = Limits()

    @field_validator("action")
    @classmethod
    def _runnable(cls, value: str) -> str:
        spec = CATALOG.get(value)
        if spec is None or spec.fleet_action is None:
            runnable = ", ".join(n for n, s in CATALOG.items() if s.fleet_action)
            raise ValueError(f"unknown action {value!r}; known: {runnable}")
        return value

    @model_validator(mode="after")
    def _params_fit(self) -> RunbookConfig:
        spec = CATALOG[self.action]
        known = {p.name for p in spec.params}
        unknown = sorted(set(self.params) - known)
        if unknown:
            raise ValueError(f"`{self.action}` takes {', '.join(known) or 'no parameters'}")
        missing = [p.name for p in spec.params if p.required and p.name not in self.params]
        if missing:
            raise ValueError(f"`{self.action}` needs {', '.join(missing)}")
        for key, template in self.params.items():
            try:
                fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
            except ValueError as exc:
                raise ValueError(f"params.{key}: {exc}") from None
            if any(not f.isidentifier() for f in fields):
                raise ValueError(f"params.{key}: use {{label}} with a plain label name")
        return self

    def matches(self, labels: dict[str, str]) -> bool:
        return all(fnmatchcase(labels.get(k, ""), pattern) for k, pattern in self.match.items())

    def params_for(self, labels: dict[str, str]) -> dict[str, str] | None:
        """The parameters filled from the labels; None when a label they name is missing."""
        try:
            return {k: v.format_map(labels) for k, v in self.params.items()}
        except (KeyError, ValueError, IndexError):
            return None


class AutomationConfig(StrictModel):
    # Off: runbooks are not even suggested; the kill switch is the runtime "off".
    enabled: bool = True
    limits: Limits = Limits(runs_per_service_per_hour=3, max_concurrent=2, stop_after_failures=3)
    # A page on a service automation acted on this recently is taken as caused by that
    # action: it is counted against the limits and starts no run of its own.
    feedback_window_minutes: float = Field(default=15.0, ge=0, le=24 * 60)
    # Who may `/fleet automation pause|resume`; empty: anyone bound to a role in `roles:`.
    switch_roles: list[str] = Field(default_factory=list)
    # On a failure or a limit hit, also trigger PagerDuty (when a routing key is set).
    pagerduty: bool = True


Runbooks = list[RunbookConfig]


def unique_names(value: list[RunbookConfig]) -> list[RunbookConfig]:
    names = [r.name for r in value]
    if len(names) != len(set(names)):
        raise ValueError("runbook names must be unique")
    return value


def runbook_for(runbooks: Runbooks, labels: dict[str, str]) -> RunbookConfig | None:
    return next((r for r in runbooks if r.matches(labels)), None)
