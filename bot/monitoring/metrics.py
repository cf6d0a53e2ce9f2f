"""The bot's own metrics, served at `GET /metrics` in Prometheus' text format.

Each `Runtime` has its own `CollectorRegistry` (not the process-wide default), so two
bots in one process, as in tests, count apart. Counters and histograms move where the
thing happens (intake, outbox, guard chain, action end); gauges of stored state (backlog,
open incidents, last deliveries) are set from a `Snapshot` just before a scrape.

Label values come from configuration or small fixed sets, except Slack's error names,
which are cut to a safe shape so an odd answer cannot blow up the series count.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from bot.build_info import commit, package_version
from bot.clock import Clock, utcnow
from bot.monitoring.reachability import FLEET_PREFIX, SLACK, Reachability
from integrations.fleet.errors import FleetError, FleetProtocolError, FleetUnavailable
from integrations.slack.errors import SlackError, SlackRateLimited, SlackUnavailable
from integrations.slack.web import error_name

if TYPE_CHECKING:
    from bot.monitoring.findings import Problem, Snapshot

CONTENT_TYPE = CONTENT_TYPE_LATEST
# From a quick restart to a long failover or resize.
ACTION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1200, 3600)
# Slack shows a slash command's user nothing for 3 s; the answer should come well before.
COMMAND_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30)
_LABEL_SAFE = re.compile(r"[^a-z0-9_.:-]")


def safe_label(value: str, limit: int = 60) -> str:
    return _LABEL_SAFE.sub("_", value.lower())[:limit] or "unknown"


class Metrics:
    def __init__(self, clock: Clock = utcnow) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        # Slack's and each fleet backend's, from the calls this replica makes.
        self.reachability = Reachability(r, clock)
        # When this replica last saw the audit head published (/status shows it).
        self.checkpoint_current_at: datetime | None = None
        # Which build each replica runs, for dashboards during a rolling upgrade.
        Info("watchkeeper_build", "The running build.", registry=r).info(
            {"version": package_version(), "commit": commit()}
        )
        self.pages_received = Counter(
            "watchkeeper_pages_received", "Pages accepted at intake.", ["source"], registry=r
        )
        self.intake_refused = Counter(
            "watchkeeper_intake_refused",
            "Deliveries to a configured intake source that were refused, by reason.",
            ["source", "reason"],
            registry=r,
        )
        self.incidents_open = Gauge(
            "watchkeeper_incidents_open", "Incidents not yet resolved.", registry=r
        )
        self.outbox_depth = Gauge(
            "watchkeeper_outbox_depth", "Slack writes waiting for delivery.", registry=r
        )
        self.outbox_oldest_age = Gauge(
            "watchkeeper_outbox_oldest_pending_age_seconds",
            "How long the oldest undelivered Slack write has waited (0 when none).",
            registry=r,
        )
        self.slack_api_errors = Counter(
            "watchkeeper_slack_api_errors",
            "Slack Web API calls that failed, by method and Slack's error name "
            "(unavailable, ratelimited, or the `error` of an ok:false answer).",
            ["method", "error"],
            registry=r,
        )
        self.action_duration = Histogram(
            "watchkeeper_action_duration_seconds",
            "Guarded actions from execution claim to end, by action and outcome.",
            ["action", "outcome"],
            buckets=ACTION_BUCKETS,
            registry=r,
        )
        self.guard_denials = Counter(
            "watchkeeper_guard_denials",
            "Requests refused by the permission step (guard=permission) or the guard chain.",
            ["guard"],
            registry=r,
        )
        self.command_duration = Histogram(
            "watchkeeper_command_duration_seconds",
            "Slash commands from the handler's start until the answer is queued, by group.",
            ["command"],
            buckets=COMMAND_BUCKETS,
            registry=r,
        )
        self.commands_turned_away = Counter(
            "watchkeeper_commands_turned_away",
            "Slash commands answered busy because server.max_in_flight were still at work.",
            registry=r,
        )
        self.scheduler_leader = Gauge(
            "watchkeeper_scheduler_leader",
            "1 on the replica that holds the scheduler lease.",
            registry=r,
        )
        self.database_up = Gauge(
            "watchkeeper_database_up", "1 when the database answered the last look.", registry=r
        )
        self.intake_last_delivery = Gauge(
            "watchkeeper_intake_last_delivery_timestamp_seconds",
            "When each expected intake source last delivered (Unix time).",
            ["source"],
            registry=r,
        )
        self.health_problem = Gauge(
            "watchkeeper_health_problem",
            "1 while the heartbeat reports the problem (see /readyz).",
            ["problem"],
            registry=r,
        )

        self.automation_paused_since = Gauge(
            "watchkeeper_automation_paused_since_timestamp_seconds",
            "When automation was paused (0 while it runs).",
            registry=r,
        )
        self.audit_last_checkpoint = Gauge(
            "watchkeeper_audit_last_checkpoint_timestamp_seconds",
            "When this replica last saw the audit chain head published (0: not since start).",
            registry=r,
        )

    # -- where things happen ------------------------------------------------------------

    def slack_answered(self, method: str) -> None:
        del method  # any method that answers shows Slack reachable
        self.reachability.answered(SLACK)

    def slack_error(self, method: str, exc: SlackError) -> None:
        self.slack_api_errors.labels(safe_label(method, 40), safe_label(error_name(exc))).inc()
        # A 429 or an `ok: false` is Slack answering; only no answer (or a 5xx) is not.
        if isinstance(exc, SlackUnavailable) and not isinstance(exc, SlackRateLimited):
            self.reachability.failed(SLACK, str(exc))
        else:
            self.reachability.answered(SLACK)

    def fleet_call(self, backend: str, exc: FleetError | None) -> None:
        """How a call to a fleet backend went: None when it succeeded. A refusal or an
        unknown service is an answer; no answer, or one no client can read, is not."""
        if isinstance(exc, FleetUnavailable | FleetProtocolError):
            self.reachability.failed(FLEET_PREFIX + backend, str(exc))
        else:
            self.reachability.answered(FLEET_PREFIX + backend)

    def guard_denied(self, guard: str) -> None:
        self.guard_denials.labels(safe_label(guard, 40)).inc()

    def audit_checkpointed(self, at: datetime) -> None:
        self.audit_last_checkpoint.set(at.timestamp())
        self.checkpoint_current_at = at

    def command_answered(self, group: str, seconds: float) -> None:
        self.command_duration.labels(safe_label(group, 40)).observe(max(0.0, seconds))

    def action_finished(self, action: str, outcome: str, seconds: float) -> None:
        self.action_duration.labels(safe_label(action, 40), safe_label(outcome, 20)).observe(
            max(0.0, seconds)
        )

    # -- state, before a scrape ---------------------------------------------------------

    def show(self, snapshot: Snapshot | None, problems: list[Problem], leader: bool) -> None:
        """Set the gauges from a fresh look at the database (None: it did not answer)."""
        self.scheduler_leader.set(1 if leader else 0)
        self.database_up.set(0 if snapshot is None else 1)
        if snapshot is not None:
            self.incidents_open.set(snapshot.incidents_open)
            self.outbox_depth.set(snapshot.outbox_depth)
            self.outbox_oldest_age.set(snapshot.outbox_oldest_age)
            paused = snapshot.automation_paused_since
            self.automation_paused_since.set(paused.timestamp() if paused else 0)
            for source, at in snapshot.last_delivery.items():
                self.intake_last_delivery.labels(source).set(at.timestamp())
        self.health_problem.clear()
        for problem in problems:
            self.health_problem.labels(problem.key).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
