"""Which secrets of a loaded configuration anyone could know, and whether that matters.

The shipped `app.yaml` runs the demo with no environment variables, so it carries
defaults for every secret; they are public (they are in the repository). With them, or
with secrets short enough to guess, anyone can forge Slack requests, audit rows and
pages. In production that is refused: `watchkeeper serve` does not start and
`watchkeeper check-config` fails, each naming the secrets by their YAML path, never by
value (docs/security.md, "Secrets").

Production is a bot that talks to a Slack that is not on this machine (the local
stand-in listens on loopback), or one whose environment says `WATCHKEEPER_ENV=production`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from bot.config import Config
from bot.intake.config import HmacAuth, TokenAuth

ENV_VARIABLE = "WATCHKEEPER_ENV"
MIN_LENGTH = 32
# The secrets `app.yaml` ships as `${VAR:-default}` for the demo: public by definition.
# tests/test_secrets_check.py keeps this list equal to what app.yaml ships.
PUBLIC_VALUES = frozenset(
    {
        "demo-signing-secret",
        "xoxb-demo-token",
        "demo-audit-key-not-secret",
        "am-token",
        "demo-pagerduty-secret",
        "demo-grafana-secret",
        "demo-uptime-token",
    }
)
# What Slack issues: a bot token `xoxb-<team>-<bot>-<random>` (or its rotating form,
# `xoxe.xoxb-...`), an app-level token `xapp-...`; tens of characters either way.
_BOT_TOKEN = re.compile(r"(?:xoxe\.)?xoxb-[0-9A-Za-z][0-9A-Za-z-]{30,}")
_APP_TOKEN = re.compile(r"xapp-[0-9A-Za-z][0-9A-Za-z-]{30,}")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


@dataclass(frozen=True)
class WeakSecret:
    path: str  # where it is in app.yaml, e.g. `intake.pagerduty.secrets[0]`
    problem: str  # what is wrong with it, without the value


def production_reason(config: Config, env: Mapping[str, str]) -> str | None:
    """Why this configuration counts as production, or None when it does not."""
    if env.get(ENV_VARIABLE, "").strip().lower() == "production":
        return f"{ENV_VARIABLE}=production"
    if not _is_loopback(config.slack.api_url.host or ""):
        return f"slack.api_url {config.slack.api_url} is not the local stand-in"
    return None


def weak_secrets(config: Config) -> list[WeakSecret]:
    """Every secret the bot authenticates with that is public or easy to guess."""
    found = []
    for path, value, shape in _secrets(config):
        text = value.get_secret_value()
        if text in PUBLIC_VALUES:
            found.append(WeakSecret(path, "is the public demo value shipped in app.yaml"))
        elif shape is not None and not shape[0].fullmatch(text):
            found.append(WeakSecret(path, f"does not look like a Slack {shape[1]}"))
        elif shape is None and len(text) < MIN_LENGTH:
            found.append(WeakSecret(path, f"is shorter than {MIN_LENGTH} characters"))
    return found


def report(weak: list[WeakSecret], production: str | None) -> str:
    """The findings, each secret named by its path, never by its value."""
    if production is None:
        head = "public or weak secrets (fine on the local stand-in, refused in production):"
    else:
        head = f"public or weak secrets, refused in production ({production}):"
    lines = [head, *(f"  {w.path}: {w.problem}" for w in weak)]
    lines.append(
        "set each from the environment to a random value, e.g. "
        "python -c 'import secrets; print(secrets.token_hex(32))' (docs/security.md)"
    )
    return "\n".join(lines)


Shape = tuple[re.Pattern[str], str] | None


def _secrets(config: Config) -> Iterator[tuple[str, SecretStr, Shape]]:
    slack = config.slack
    yield "slack.signing_secret", slack.signing_secret, None
    yield "slack.bot_token", slack.bot_token, (_BOT_TOKEN, "bot token (xoxb-...)")
    if slack.mode == "socket" and slack.app_token is not None:
        yield "slack.app_token", slack.app_token, (_APP_TOKEN, "app-level token (xapp-...)")
    if config.audit.key is not None:
        yield "audit.key", config.audit.key, None
    for path, secret in _intake_credentials(config):
        yield path, secret, None


def _intake_credentials(config: Config) -> Iterator[tuple[str, SecretStr]]:
    intake = config.intake
    if intake.alertmanager is not None and intake.alertmanager.enabled:
        yield from _auth("intake.alertmanager.auth", intake.alertmanager.auth)
    if intake.pagerduty is not None and intake.pagerduty.enabled:
        yield from _listed("intake.pagerduty.secrets", intake.pagerduty.secrets)
    if intake.grafana is not None and intake.grafana.enabled:
        yield from _auth("intake.grafana.auth", intake.grafana.auth, intake.grafana.auth.hmac)
    for name, source in intake.generic.items():
        if source.enabled:
            yield from _auth(f"intake.generic.{name}.auth", source.auth, source.auth.hmac)


def _auth(
    path: str, auth: TokenAuth, hmac: HmacAuth | None = None
) -> Iterator[tuple[str, SecretStr]]:
    yield from _listed(f"{path}.bearer_tokens", auth.bearer_tokens)
    for user, password in auth.basic.items():
        yield f"{path}.basic.{user}", password
    if hmac is not None:
        yield from _listed(f"{path}.hmac.secrets", hmac.secrets)


def _listed(path: str, secrets: list[SecretStr]) -> Iterator[tuple[str, SecretStr]]:
    for i, secret in enumerate(secrets):
        yield f"{path}[{i}]", secret


def _is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
