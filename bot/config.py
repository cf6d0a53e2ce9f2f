"""The one configuration file of a deployment, `app.yaml`, as pydantic models.

`load_config` reads the file once (in `main()`), expands `${VAR}` / `${VAR:-default}`
from the environment it is given, and validates. Every problem is reported with its YAML
path, all at once, in a `ConfigError`; nothing here reads the environment at import time.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.actions.policy import PoliciesConfig
from bot.automation.config import AutomationConfig, Runbooks, unique_names
from bot.config_model import StrictModel
from bot.incidents.config import (
    EscalationConfig,
    GroupingConfig,
    RoutingConfig,
    SilenceConfig,
    StormsConfig,
    SuggestedActions,
)
from bot.intake.config import IntakeConfig
from bot.monitoring.config import MonitoringConfig
from bot.oncall.config import OncallConfig
from bot.process_config import SchedulerConfig, ServerConfig, StorageConfig

SLACK_API_URL = "https://slack.com/api/"


class ConfigError(Exception):
    """The configuration is unusable; `problems` lists `(yaml_path, message)` pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {msg}" for path, msg in problems))


class CommandNames(StrictModel):
    fleet: str = "/fleet"
    incident: str = "/incident"
    oncall: str = "/oncall"
    audit: str = "/audit"

    @field_validator("*")
    @classmethod
    def _slash(cls, value: str) -> str:
        if not re.fullmatch(r"/[a-z0-9_-]{1,31}", value):
            raise ValueError("a command name is '/' then 1-31 of a-z 0-9 _ -")
        return value


class SlackConfig(StrictModel):
    mode: Literal["http", "socket"] = "http"
    signing_secret: SecretStr
    bot_token: SecretStr
    app_token: SecretStr | None = None
    api_url: AnyHttpUrl = AnyHttpUrl(SLACK_API_URL)
    # How long one Web API call may take before the outbox counts it as an outage.
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    app_name: str = Field(default="Watchkeeper", min_length=1, max_length=35)
    commands: CommandNames = CommandNames()

    def model_post_init(self, context: Any, /) -> None:
        if self.mode == "socket" and (
            self.app_token is None or not self.app_token.get_secret_value()
        ):
            raise ValueError("app_token is required when mode is socket")


class FleetBackendConfig(StrictModel):
    name: str = Field(min_length=1)
    type: Literal["simulator", "http", "patroni"]
    # simulator and http: the control plane's base URL (a patroni backend lists clusters).
    url: AnyHttpUrl | None = None
    # Glob patterns of service names this backend answers for; first match wins.
    services: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    token: SecretStr | None = None
    timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    # simulator only: how many services to seed and with which seed.
    seed: int = 7
    size: int = Field(default=240, ge=1, le=100_000)
    # patroni only: cluster name (the service name) -> its members' REST API URLs, the
    # REST API's basic auth, and how long one Patroni call that does the work may take.
    clusters: dict[str, list[AnyHttpUrl]] = Field(default_factory=dict)
    username: str | None = None
    password: SecretStr | None = None
    action_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)

    @model_validator(mode="before")
    @classmethod
    def _patroni_serves_its_clusters(cls, data: Any) -> Any:
        # The default "*" would claim every service for the first patroni backend.
        if isinstance(data, dict) and data.get("type") == "patroni" and "services" not in data:
            clusters = data.get("clusters")
            if isinstance(clusters, dict) and clusters:
                return {**data, "services": list(clusters)}
        return data

    @model_validator(mode="after")
    def _fits_its_type(self) -> FleetBackendConfig:
        if self.type != "patroni":
            if self.url is None:
                raise ValueError(f"a {self.type} backend needs url")
            return self
        if not self.clusters:
            raise ValueError("a patroni backend lists clusters: name -> member REST API URLs")
        for name, urls in self.clusters.items():
            if not urls:
                raise ValueError(f"cluster {name} lists no member REST API URL")
            if any(u.username or u.password for u in urls):
                raise ValueError(f"cluster {name}: put credentials in username/password, not URLs")
        if self.password is not None and not self.username:
            raise ValueError("password needs a username")
        return self

    def serves(self, service: str) -> bool:
        return any(fnmatch.fnmatchcase(service, pattern) for pattern in self.services)


class FleetConfig(StrictModel):
    backends: list[FleetBackendConfig] = Field(min_length=1)

    @field_validator("backends")
    @classmethod
    def _unique_names(cls, value: list[FleetBackendConfig]) -> list[FleetBackendConfig]:
        names = [b.name for b in value]
        if len(names) != len(set(names)):
            raise ValueError("backend names must be unique")
        return value

    def backend_for(self, service: str) -> FleetBackendConfig | None:
        return next((b for b in self.backends if b.serves(service)), None)


SlackUserId = Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,}$")]
SlackGroupId = Annotated[str, Field(pattern=r"^S[A-Z0-9]{2,}$")]


class RoleBinding(StrictModel):
    users: list[SlackUserId] = Field(default_factory=list)
    usergroups: list[SlackGroupId] = Field(default_factory=list)
    # The bot's own automation (actor `watchkeeper:automation`) holds this role too.
    automation: bool = False


class ChannelsConfig(StrictModel):
    default: str = Field(pattern=r"^[CG][A-Z0-9]{2,}$")
    audit: str | None = Field(default=None, pattern=r"^[CG][A-Z0-9]{2,}$")
    ops: str | None = Field(default=None, pattern=r"^[CG][A-Z0-9]{2,}$")


class OutboxConfig(StrictModel):
    per_channel_interval_seconds: float = Field(default=1.0, ge=0)
    max_backoff_seconds: float = Field(default=300.0, gt=0)
    poll_interval_seconds: float = Field(default=0.2, gt=0)
    # How long a replica holds a lane while it sends; after a crash the lane waits this long
    # for another replica (or at once for a restart under the same `server.replica_id`).
    lane_lease_seconds: float = Field(default=30.0, gt=0, le=600)


class AuditConfig(StrictModel):
    """The audit chain's key (from the environment, never stored) and its checkpoints."""

    # HMAC key of the chain. Optional so a config without it still loads; appending and
    # verifying refuse to run without it (see bot.audit.hash_chain.KeyRing.from_config).
    key: SecretStr | None = None
    # Keys retired by a rotation: still accepted by verify for the rows they signed.
    previous_keys: list[SecretStr] = Field(default_factory=list)
    checkpoint_minutes: int = Field(default=15, ge=1, le=1440)
    checkpoint_file: Path | None = Path("./var/audit-checkpoints.log")

    @field_validator("key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode("utf-8")) < 16:
            raise ValueError("the audit key needs at least 16 bytes (use a random 32-byte value)")
        return value

    @field_validator("previous_keys")
    @classmethod
    def _previous_long_enough(cls, value: list[SecretStr]) -> list[SecretStr]:
        if any(len(k.get_secret_value().encode("utf-8")) < 16 for k in value):
            raise ValueError("every previous audit key needs at least 16 bytes")
        return value


class DemoConfig(StrictModel):
    standin_port: int = Field(default=8791, ge=0, le=65535)
    users: dict[str, SlackUserId] = Field(
        default_factory=lambda: {"alice": "UALICE01", "bob": "UBOB0002"}
    )
    # The simulated monitoring (bot/incidents/demo.py): its first fault this long after
    # start, then one every `page_every_seconds`; 0 turns the automatic faults off.
    first_page_seconds: float = Field(default=20.0, ge=0)
    page_every_seconds: float = Field(default=300.0, ge=0)
    # The alertname of that first fault (the shipped demo: a replica lag that automation
    # fixes); unset: chosen at random like the rest.
    first_fault: str | None = Field(default=None, max_length=100)


class Config(StrictModel):
    slack: SlackConfig
    server: ServerConfig = ServerConfig()
    storage: StorageConfig = StorageConfig()
    fleet: FleetConfig
    roles: dict[str, RoleBinding] = Field(default_factory=dict)
    channels: ChannelsConfig
    outbox: OutboxConfig = OutboxConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    demo: DemoConfig = DemoConfig()
    audit: AuditConfig = AuditConfig()
    # Guarded actions: who may run what, when (bot/actions/policy.py, docs/actions.md).
    policies: PoliciesConfig = PoliciesConfig()
    oncall: OncallConfig = OncallConfig()
    intake: IntakeConfig = IntakeConfig()
    # Incidents (bot/incidents/config.py, docs/incidents.md).
    routing: RoutingConfig = RoutingConfig()
    grouping: GroupingConfig = GroupingConfig()
    escalation: EscalationConfig = EscalationConfig()
    storms: StormsConfig = StormsConfig()
    silences: SilenceConfig = SilenceConfig()
    # alertname glob -> fleet actions offered on the incident's root message.
    suggested_actions: SuggestedActions = Field(default_factory=dict)
    # Bounded auto-remediation (bot/automation/config.py, docs/automation.md).
    automation: AutomationConfig = AutomationConfig()
    runbooks: Runbooks = Field(default_factory=list)
    # The bot's own health: /metrics, the heartbeat (bot/monitoring/, docs/monitoring.md).
    monitoring: MonitoringConfig = MonitoringConfig()

    _runbook_names = field_validator("runbooks")(unique_names)

    @model_validator(mode="after")
    def _expected_sources_are_open(self) -> Config:
        # Waiting for deliveries from a source intake refuses would page every night.
        for source in self.monitoring.expected_sources:
            kind, _, name = source.partition(":")
            found = self.intake.generic.get(name) if name else getattr(self.intake, kind, None)
            if found is None or not found.enabled:
                raise ValueError(f"monitoring.expected_sources: intake.{source} is not enabled")
        return self


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _expand(node: Any, env: Mapping[str, str], path: str, missing: list[tuple[str, str]]) -> Any:
    """Replace `${VAR}` in every string; a VAR that is unset and has no default is recorded."""
    if isinstance(node, dict):
        return {
            k: _expand(v, env, f"{path}.{k}" if path else str(k), missing) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_expand(v, env, f"{path}[{i}]", missing) for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        missing.append((path, f"environment variable {name} is not set"))
        return ""

    return _VAR.sub(substitute, node)


def _yaml_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _friendly(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown key"
    if kind.startswith("url_"):
        return "not a valid URL"
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")


def _literal_audit_keys(raw: dict[str, Any]) -> list[tuple[str, str]]:
    # A key written into app.yaml lands in version control next to the database backups,
    # and whoever holds both can rewrite the chain; only ${VAR} references are accepted.
    audit = raw.get("audit")
    if not isinstance(audit, dict):
        return []
    found = [("audit.key", audit.get("key"))]
    previous = audit.get("previous_keys")
    if isinstance(previous, list):
        found += [(f"audit.previous_keys[{i}]", k) for i, k in enumerate(previous)]
    return [
        (path, "must come from the environment, e.g. ${WATCHKEEPER_AUDIT_KEY}")
        for path, value in found
        if isinstance(value, str) and "${" not in value
    ]


def parse_config(raw: Any, env: Mapping[str, str]) -> Config:
    if not isinstance(raw, dict):
        raise ConfigError([("(top level)", "expected a mapping of sections")])
    missing: list[tuple[str, str]] = []
    expanded = _expand(raw, env, "", missing)
    problems = list(missing) + _literal_audit_keys(raw)
    try:
        config = Config.model_validate(expanded)
    except ValidationError as exc:
        # `${VAR}` problems already name the variable; don't repeat them as "required".
        reported = {path for path, _ in missing}
        for err in exc.errors():
            # Custom validators on a model report at the model's own path; keep it.
            loc = tuple(p for p in err["loc"] if not str(p).startswith("function-"))
            path = _yaml_path(loc)
            if path not in reported:
                problems.append((path, _friendly(err)))
        raise ConfigError(problems) from None
    if problems:
        raise ConfigError(problems)
    return config


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([(str(path), f"cannot read: {exc.strerror}")]) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else str(path)
        raise ConfigError([(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None
    return parse_config(raw, os.environ if env is None else env)
