"""Public and weak secrets: reported by check-config, refused by serve in production,
accepted for the demo on the local stand-in (docs/security.md, "Secrets")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import load_config, parse_config
from bot.secrets_check import PUBLIC_VALUES, production_reason, weak_secrets
from tests.conftest import base_config

ROOT = Path(__file__).resolve().parent.parent
APP_YAML = ROOT / "app.yaml"
REAL_SLACK = "https://slack.com/api/"
SECRET_VARIABLES = (
    "SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "WATCHKEEPER_AUDIT_KEY",
    "ALERTMANAGER_WEBHOOK_TOKEN", "PAGERDUTY_WEBHOOK_SECRET", "GRAFANA_WEBHOOK_SECRET",
    "UPTIME_WEBHOOK_TOKEN",
)  # fmt: skip
SHIPPED_SECRETS = [
    "slack.signing_secret",
    "slack.bot_token",
    "audit.key",
    "intake.alertmanager.auth.bearer_tokens[0]",
    "intake.pagerduty.secrets[0]",
    "intake.grafana.auth.hmac.secrets[0]",
    "intake.generic.uptime.auth.bearer_tokens[0]",
]
# What a real deployment sets: Slack's shapes, 32+ random characters elsewhere.
STRONG = {
    "SLACK_SIGNING_SECRET": "8f14e45fceea167a5a36dedd4bea2543",
    "SLACK_BOT_TOKEN": "xoxb-1234567890123-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "WATCHKEEPER_AUDIT_KEY": "c9f0f895fb98ab9159f51fd0297e236d" * 2,
    "ALERTMANAGER_WEBHOOK_TOKEN": "Q2xhdWRlIHdhcyBoZXJlIGF0IG5pZ2h0IDEyMw",
    "PAGERDUTY_WEBHOOK_SECRET": "45c48cce2e2d7fbdea1afc51c7c6ad26aa",
    "GRAFANA_WEBHOOK_SECRET": "d3d9446802a44259755d38e6d163e820bb",
    "UPTIME_WEBHOOK_TOKEN": "6512bd43d9caa6e02c990b0a82652dcabb",
    # Not a secret, but a production install names its workspace (check-config warns).
    "SLACK_TEAM_ID": "T02ABCDEF12",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The process environment without any of the secrets or switches read here."""
    for name in (*SECRET_VARIABLES, "SLACK_API_URL", "WATCHKEEPER_ENV"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_every_secret_default_app_yaml_ships_is_known_public() -> None:
    defaults = re.findall(r"\$\{([A-Z_]+):-([^}]+)\}", APP_YAML.read_text(encoding="utf-8"))
    shipped = {value for name, value in defaults if name in SECRET_VARIABLES}
    assert shipped and shipped <= PUBLIC_VALUES
    config = load_config(APP_YAML, env={})
    assert [w.path for w in weak_secrets(config)] == SHIPPED_SECRETS
    assert all("public demo value" in w.problem for w in weak_secrets(config))


def test_the_demo_on_the_local_stand_in_is_not_production() -> None:
    assert production_reason(load_config(APP_YAML, env={}), {}) is None
    for url in ("http://localhost:8791/api/", "http://127.0.0.2/api/", "http://[::1]:8791/api/"):
        config = load_config(APP_YAML, env={"SLACK_API_URL": url})
        assert production_reason(config, {}) is None, url


def test_production_is_a_real_slack_or_the_environment_saying_so() -> None:
    for url in (REAL_SLACK, "http://10.0.0.5:8791/api/", "https://slack.internal/api/"):
        config = load_config(APP_YAML, env={"SLACK_API_URL": url})
        assert production_reason(config, {}) is not None, url
    demo = load_config(APP_YAML, env={})
    assert production_reason(demo, {"WATCHKEEPER_ENV": "production"}) is not None
    assert production_reason(demo, {"WATCHKEEPER_ENV": "development"}) is None


@pytest.mark.parametrize(
    "switch", [{"SLACK_API_URL": REAL_SLACK}, {"WATCHKEEPER_ENV": "production"}]
)
def test_serve_refuses_production_naming_each_public_secret(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], switch: dict[str, str]
) -> None:
    for name, value in switch.items():
        clean_env.setenv(name, value)
    assert main(["serve", "--config", str(APP_YAML)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("refusing to serve")
    for path in SHIPPED_SECRETS:
        assert f"{path}: is the public demo value" in err
    for value in PUBLIC_VALUES:
        assert value not in err


def test_serve_refuses_a_production_config_with_one_weak_secret_left(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {**STRONG, "GRAFANA_WEBHOOK_SECRET": "short-one"}.items():
        clean_env.setenv(name, value)
    clean_env.setenv("SLACK_API_URL", REAL_SLACK)
    assert main(["serve", "--config", str(APP_YAML)]) == 1
    err = capsys.readouterr().err
    assert "intake.grafana.auth.hmac.secrets[0]: is shorter than 32 characters" in err
    assert "short-one" not in err
    assert "slack.signing_secret" not in err and "audit.key" not in err


def test_short_secrets_and_tokens_not_shaped_like_slack_are_weak() -> None:
    raw = base_config(
        slack={"mode": "socket", "signing_secret": "x" * 31, "bot_token": "xoxb-not-real",
               "app_token": "xapp-1", "api_url": REAL_SLACK},
        audit={"key": "${KEY}"},
        intake={
            "alertmanager": {"auth": {"basic": {"am": "hunter2"}}},
            "generic": {
                "quiet": {"enabled": False, "auth": {"bearer_tokens": ["x"]},
                          "mapping": {"dedup_key": "id", "title": "t"}},
            },
        },
    )  # fmt: skip
    config = parse_config(raw, {"KEY": "sixteen-bytes-ok"})
    assert {w.path: w.problem for w in weak_secrets(config)} == {
        "slack.signing_secret": "is shorter than 32 characters",
        "slack.bot_token": "does not look like a Slack bot token (xoxb-...)",
        "slack.app_token": "does not look like a Slack app-level token (xapp-...)",
        "audit.key": "is shorter than 32 characters",
        "intake.alertmanager.auth.basic.am": "is shorter than 32 characters",
    }


def test_a_strong_set_of_secrets_passes(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_config(APP_YAML, env={**STRONG, "SLACK_API_URL": REAL_SLACK})
    assert production_reason(config, {}) is not None
    assert weak_secrets(config) == []
    for name, value in {**STRONG, "SLACK_API_URL": REAL_SLACK}.items():
        clean_env.setenv(name, value)
    assert main(["check-config", "--config", str(APP_YAML)]) == 0
    assert capsys.readouterr().err == ""


def test_check_config_reports_public_secrets_and_fails_only_in_production(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "--config", str(APP_YAML)]) == 0
    out, err = capsys.readouterr()
    assert "ok" in out
    assert "fine on the local stand-in, refused in production" in err
    for path in SHIPPED_SECRETS:
        assert f"{path}: is the public demo value" in err

    clean_env.setenv("SLACK_API_URL", REAL_SLACK)
    assert main(["check-config", "--config", str(APP_YAML)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert f"refused in production (slack.api_url {REAL_SLACK} is not the local stand-in)" in err
    for path in SHIPPED_SECRETS:
        assert f"{path}: is the public demo value" in err
    for value in PUBLIC_VALUES:
        assert value not in err
