"""The one configuration file of a deployment, `app.yaml`, as pydantic models.

`load_config` reads the file once (in `main()`), expands `${VAR}` / `${VAR:-default}`
from the environment it is given, and validates. Every problem is reported with its YAML
path, all at once, in a `ConfigError`; nothing here reads the environment at import time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

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
from bot.audit.config import AuditConfig
from bot.automation.config import AutomationConfig, Runbooks, unique_names
from bot.campaigns.config import CampaignsConfig
from bot.config_model import StrictModel
from bot.console.config import CliConfig
from bot.fleet.config import FleetConfig
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
from bot.outbox.config import OutboxConfig
from bot.permissions.config import ANYONE, PermissionsConfig
from bot.process_config import LoggingConfig, SchedulerConfig, ServerConfig, StorageConfig
from bot.roles import RoleBinding, SlackUserId

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
    # The workspace (and Enterprise Grid organisation) the app is installed in: signed
    # requests from any other are acked and ignored (bot/slack_trust.py). Unset: any.
    team_id: str | None = Field(default=None, pattern=r"^T[A-Z0-9]{2,30}$")
    enterprise_id: str | None = Field(default=None, pattern=r"^E[A-Z0-9]{2,30}$")

    @field_validator("team_id", "enterprise_id", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `${SLACK_TEAM_ID:-...}` with the variable set to "" means "not set".
        return None if value == "" else value

    # How long one Web API call may take before the outbox counts it as an outage.
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    app_name: str = Field(default="Watchkeeper", min_length=1, max_length=35)
    commands: CommandNames = CommandNames()

    def model_post_init(self, context: Any, /) -> None:
        if self.mode == "socket" and (
            self.app_token is None or not self.app_token.get_secret_value()
        ):
            raise ValueError("app_token is required when mode is socket")


class ChannelsConfig(StrictModel):
    default: str = Field(pattern=r"^[CG][A-Z0-9]{2,}$")
    audit: str | None = Field(default=None, pattern=r"^[CG][A-Z0-9]{2,}$")
    ops: str | None = Field(default=None, pattern=r"^[CG][A-Z0-9]{2,}$")


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
    logging: LoggingConfig = LoggingConfig()
    demo: DemoConfig = DemoConfig()
    audit: AuditConfig = AuditConfig()
    # Guarded actions: who may run what, when (bot/actions/policy.py, docs/actions.md).
    policies: PoliciesConfig = PoliciesConfig()
    # Who may use which command and button, by verb (bot/permissions, docs/security.md).
    # Empty: everything is refused.
    permissions: PermissionsConfig = PermissionsConfig()
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
    # Fleet-wide campaigns (bot/campaigns/config.py, docs/campaigns.md).
    campaigns: CampaignsConfig = CampaignsConfig()
    # The bot's own health: /metrics, the heartbeat (bot/monitoring/, docs/monitoring.md).
    monitoring: MonitoringConfig = MonitoringConfig()
    # The fallback console's engineers (bot/console/config.py, docs/fallback.md).
    cli: CliConfig = CliConfig()

    _runbook_names = field_validator("runbooks")(unique_names)

    @model_validator(mode="after")
    def _permission_roles_exist(self) -> Config:
        # A misspelt role would refuse its verb to everyone, silently: name it instead.
        unknown = sorted(self.permissions.roles_named() - set(self.roles) - {ANYONE})
        if unknown:
            raise ValueError(
                f"permissions: unknown role(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted({*self.roles, ANYONE}))}"
            )
        return self

    @model_validator(mode="after")
    def _campaign_roles_exist(self) -> Config:
        unknown = sorted(self.campaigns.roles_named() - set(self.roles))
        if unknown:
            raise ValueError(
                f"campaigns: unknown role(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(self.roles)) or 'none'}"
            )
        return self

    @model_validator(mode="after")
    def _expected_sources_are_open(self) -> Config:
        # Waiting for deliveries from a source intake refuses would page every night.
        for source in self.monitoring.expected_sources:
            if not self.intake.is_open(source):
                raise ValueError(f"monitoring.expected_sources: intake.{source} is not enabled")
        return self

    @model_validator(mode="after")
    def _automation_sources_are_open(self) -> Config:
        # A source that cannot deliver is a typo, and would leave its pages to people unseen.
        for source in self.automation.sources or ():
            if not self.intake.is_open(source):
                raise ValueError(f"automation.sources: intake.{source} is not enabled")
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


# Keys of a `fleet.backends[]` entry that hold a credential, whatever the backend type.
FLEET_SECRET_KEYS = ("password", "token", "sasl_password")


def _literal_fleet_secrets(raw: dict[str, Any]) -> list[tuple[str, str]]:
    # A fleet credential in app.yaml lands in version control; only ${VAR} references
    # are accepted (docs/backends.md).
    fleet = raw.get("fleet")
    backends = fleet.get("backends") if isinstance(fleet, dict) else None
    found = []
    for i, entry in enumerate(backends if isinstance(backends, list) else []):
        if not isinstance(entry, dict):
            continue
        for key in FLEET_SECRET_KEYS:
            value = entry.get(key)
            if isinstance(value, str) and value and "${" not in value:
                found.append(
                    (f"fleet.backends[{i}].{key}", "must come from the environment, e.g. ${VAR}")
                )
    return found


def parse_config(raw: Any, env: Mapping[str, str]) -> Config:
    if not isinstance(raw, dict):
        raise ConfigError([("(top level)", "expected a mapping of sections")])
    missing: list[tuple[str, str]] = []
    expanded = _expand(raw, env, "", missing)
    problems = list(missing) + _literal_audit_keys(raw) + _literal_fleet_secrets(raw)
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
