"""app.yaml validation: every problem named with its YAML path; secrets stay secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.composition import replica_id
from bot.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent


def minimal() -> dict[str, Any]:
    return {
        "slack": {"signing_secret": "s", "bot_token": "xoxb-1"},
        "fleet": {"backends": [{"name": "sim", "type": "simulator", "url": "http://127.0.0.1:0"}]},
        "channels": {"default": "C0DEMO001"},
    }


def problems(raw: Any, env: dict[str, str] | None = None) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, env or {})
    return dict(caught.value.problems)


def test_shipped_app_yaml_is_valid_with_no_environment() -> None:
    config = load_config(ROOT / "app.yaml", env={})
    assert config.slack.mode == "http"
    assert config.storage.url.startswith("sqlite+aiosqlite:///")
    assert config.fleet.backends[0].type == "simulator"


def test_environment_variables_replace_placeholders() -> None:
    raw = minimal()
    raw["slack"]["signing_secret"] = "${SIGNING}"
    config = parse_config(raw, {"SIGNING": "from-env"})
    assert config.slack.signing_secret.get_secret_value() == "from-env"


def test_missing_secret_names_the_variable() -> None:
    raw = minimal()
    raw["slack"]["bot_token"] = "${SLACK_BOT_TOKEN}"
    found = problems(raw)
    assert found == {"slack.bot_token": "environment variable SLACK_BOT_TOKEN is not set"}


def test_bad_url_is_reported_with_its_path() -> None:
    raw = minimal()
    raw["fleet"]["backends"][0]["url"] = "not a url"
    assert problems(raw)["fleet.backends[0].url"] == "not a valid URL"


def test_every_error_is_reported_at_once() -> None:
    raw = minimal()
    raw["fleet"]["backends"][0]["type"] = "ftp"
    raw["channels"]["default"] = "general"
    raw["slack"]["colour"] = "blue"
    del raw["slack"]["signing_secret"]
    found = problems(raw)
    assert set(found) == {
        "fleet.backends[0].type",
        "channels.default",
        "slack.colour",
        "slack.signing_secret",
    }
    assert found["slack.colour"] == "unknown key"
    assert found["slack.signing_secret"] == "required"


def test_socket_mode_requires_an_app_token() -> None:
    raw = minimal()
    raw["slack"]["mode"] = "socket"
    assert "app_token is required" in " ".join(problems(raw).values())


def test_unknown_storage_driver_is_refused() -> None:
    raw = minimal()
    raw["storage"] = {"url": "mysql://x"}
    assert "storage.url" in problems(raw)


def test_replica_id_names_the_process_in_leases_when_set() -> None:
    assert ":" in replica_id(parse_config(minimal(), {}))  # unset: hostname:pid
    raw = minimal()
    raw["server"] = {"replica_id": "${POD_NAME}"}
    assert replica_id(parse_config(raw, {"POD_NAME": "watchkeeper-0"})) == "watchkeeper-0"
    for bad in ("two words", "x" * 64, ""):
        raw["server"] = {"replica_id": bad}
        assert "replica_id is 1-63 of" in problems(raw)["server.replica_id"]


def test_top_level_must_be_a_mapping() -> None:
    assert problems(["a"]) == {"(top level)": "expected a mapping of sections"}


def test_secrets_do_not_show_in_repr() -> None:
    config = parse_config(minimal(), {})
    assert "xoxb-1" not in repr(config)
    assert "xoxb-1" not in str(config.model_dump())


def test_check_config_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--config", str(ROOT / "app.yaml")]) == 0
    broken = tmp_path / "app.yaml"
    broken.write_text("slack:\n  signing_secret: ${NOPE_NOT_SET}\n  bot_token: x\n")
    assert main(["check-config", "--config", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "slack.signing_secret: environment variable NOPE_NOT_SET is not set" in err
    assert "fleet: required" in err
    assert "channels: required" in err


def test_check_config_reports_yaml_syntax_and_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("slack: [unclosed\n")
    assert main(["check-config", "--config", str(bad)]) == 1
    assert "not valid YAML" in capsys.readouterr().err
    assert main(["check-config", "--config", str(tmp_path / "absent.yaml")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_role_user_groups_are_checked_as_slack_group_ids() -> None:
    raw = minimal()
    raw["roles"] = {"responder": {"users": ["UALICE01"], "usergroups": ["S0NIGHTS1"]}}
    assert parse_config(raw, {}).roles["responder"].usergroups == ["S0NIGHTS1"]
    raw["roles"] = {"responder": {"usergroups": ["nights"]}}
    assert list(problems(raw)) == ["roles.responder.usergroups[0]"]


def test_an_unknown_backend_type_names_the_known_ones() -> None:
    raw = minimal()
    raw["fleet"]["backends"][0]["type"] = "ftp"
    found = problems(raw)
    assert found == {
        "fleet.backends[0].type": "unknown backend type; known: "
        "http, kafka, patroni, redis-sentinel, simulator"
    }


def test_a_backend_type_checks_its_own_keys() -> None:
    raw = minimal()
    raw["fleet"]["backends"] = [{"name": "pg", "type": "patroni", "clusters": {}, "seed": 3}]
    found = problems(raw)
    assert set(found) == {"fleet.backends[0].clusters", "fleet.backends[0].seed"}
    assert found["fleet.backends[0].seed"] == "unknown key"


def test_the_old_automation_switch_roles_is_refused_pointing_at_permissions() -> None:
    # Ignoring it would silently change who may pause automation: it must fail loudly.
    raw = minimal()
    raw["automation"] = {"switch_roles": ["responder"]}
    found = problems(raw)
    assert list(found) == ["automation"]
    assert "switch_roles" in found["automation"]
    assert "permissions:" in found["automation"] and "automation.pause" in found["automation"]


def _shipped_with(tmp_path: Path, **permissions: list[str]) -> Path:
    raw = yaml.safe_load((ROOT / "app.yaml").read_text())
    raw["permissions"].update(permissions)
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_check_config_runs_the_permission_checks_of_the_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A misspelt verb grants nothing: check-config must say so, as the start would.
    misspelt = _shipped_with(tmp_path, **{"incdent.list": ["anyone"]})
    assert main(["check-config", "--config", str(misspelt)]) == 1
    assert "permissions.incdent.list: matches no command or button verb" in (
        capsys.readouterr().err
    )
    unknown_role = _shipped_with(tmp_path, **{"incident.list": ["responders"]})
    assert main(["check-config", "--config", str(unknown_role)]) == 1
    assert "unknown role(s) responders" in capsys.readouterr().err
