"""The `intake:` section of app.yaml: credentials required, empty ones refused, names checked,
secrets never shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, load_config, parse_config
from tests.conftest import base_config

ROOT = Path(__file__).resolve().parent.parent


def problems(intake: dict[str, Any], env: dict[str, str] | None = None) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(base_config(intake=intake), env or {})
    return dict(caught.value.problems)


def test_shipped_demo_intake_matches_the_captured_payloads() -> None:
    intake = load_config(ROOT / "app.yaml", env={}).intake
    assert intake.alertmanager is not None
    assert [t.get_secret_value() for t in intake.alertmanager.auth.bearer_tokens] == ["am-token"]
    assert intake.pagerduty is not None and intake.grafana is not None
    assert intake.grafana.auth.hmac is not None
    assert intake.grafana.auth.hmac.header == "X-Grafana-Alerting-Signature"
    assert set(intake.generic) == {"uptime"}


def test_environment_supplies_the_secrets() -> None:
    env = {"ALERTMANAGER_WEBHOOK_TOKEN": "from-env", "PAGERDUTY_WEBHOOK_SECRET": "pd-env"}
    intake = load_config(ROOT / "app.yaml", env=env).intake
    assert intake.alertmanager is not None and intake.pagerduty is not None
    assert intake.alertmanager.auth.bearer_tokens[0].get_secret_value() == "from-env"
    assert intake.pagerduty.secrets[0].get_secret_value() == "pd-env"


def test_intake_is_optional() -> None:
    config = parse_config(base_config(), {})
    assert config.intake.alertmanager is None
    assert config.intake.generic == {}


def test_an_enabled_source_needs_a_credential() -> None:
    found = problems({"alertmanager": {"auth": {}}})
    assert found == {
        "intake.alertmanager": "an enabled source needs at least one credential in auth"
    }


def test_an_empty_variable_is_not_a_credential() -> None:
    found = problems({"alertmanager": {"auth": {"bearer_tokens": ["${AM_TOKEN:-}"]}}})
    assert "empty bearer token" in found["intake.alertmanager.auth.bearer_tokens"]
    found = problems({"pagerduty": {"secrets": []}})
    assert "intake.pagerduty.secrets" in found


def test_alertmanager_cannot_be_given_an_hmac() -> None:
    found = problems({"alertmanager": {"auth": {"hmac": {"secrets": ["x"]}}}})
    assert found["intake.alertmanager.auth.hmac"] == "unknown key"


@pytest.mark.parametrize("name", ["Upper", "has space", "x" * 33, "-lead"])
def test_generic_names_are_checked(name: str) -> None:
    mapping = {"dedup_key": "id", "title": "t"}
    found = problems({"generic": {name: {"auth": {"bearer_tokens": ["t"]}, "mapping": mapping}}})
    assert "intake.generic" in found


def test_bad_header_name_and_mapping_are_reported_with_their_path() -> None:
    found = problems(
        {
            "grafana": {"auth": {"hmac": {"secrets": ["s"], "header": "Bad Header"}}},
            "generic": {
                "x": {"auth": {"bearer_tokens": ["t"]}, "mapping": {"dedup_key": "a..b"}},
            },
        }
    )
    assert found["intake.grafana.auth.hmac.header"] == "not an HTTP header name"
    assert "intake.generic.x.mapping.dedup_key" in found
    assert found["intake.generic.x.mapping.title"] == "required"


def test_secrets_do_not_show_in_the_config_repr() -> None:
    config = parse_config(base_config(intake={"pagerduty": {"secrets": ["very-secret-value"]}}), {})
    assert "very-secret-value" not in repr(config)


def test_public_surface_of_the_intake_integrations() -> None:
    # What the core and the incidents side import; changing it is a decision, not an accident.
    from integrations import alertmanager, generic, grafana, pagerduty

    assert set(alertmanager.__all__) >= {
        "AlertmanagerClient",
        "SilenceNotFound",
        "Matcher",
        "PostableAlert",
        "parse_webhook",
    }
    assert set(pagerduty.__all__) >= {"PagerDutyEvents", "parse_webhook", "sign", "verify"}
    assert set(grafana.__all__) == {"DEFAULT_HEADER", "SOURCE", "parse_webhook", "sign", "verify"}
    assert set(generic.__all__) == {"FieldMapping", "lookup", "parse_document", "source_name"}
