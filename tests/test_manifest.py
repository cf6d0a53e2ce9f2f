"""The generated Slack app manifest validates against Slack's manifest schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.cli import main
from bot.composition import assemble
from bot.config import parse_config
from bot.manifest import build_manifest
from tests.conftest import base_config

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "tests" / "fixtures" / "slack" / "manifest.schema.1.0.0.json"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    if not SCHEMA_PATH.is_file():
        pytest.skip(f"Slack's manifest schema is not beside the checkout ({SCHEMA_PATH})")
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return loaded


def manifest_for(mode: str, url: str | None) -> dict[str, Any]:
    raw = base_config()
    raw["slack"]["mode"] = mode
    if mode == "socket":
        raw["slack"]["app_token"] = "xapp-1"
    config = parse_config(raw, {})
    parts = assemble(config)
    return build_manifest(config, parts.commands, url, parts.buttons)


def test_http_mode_manifest_is_valid_and_points_at_the_events_url(schema: dict[str, Any]) -> None:
    manifest = manifest_for("http", "https://wk.example.com")
    jsonschema.validate(manifest, schema)
    assert (
        manifest["settings"]["interactivity"]["request_url"]
        == "https://wk.example.com/slack/events"
    )
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert commands["/fleet"]["url"] == "https://wk.example.com/slack/events"
    assert "commands" in manifest["oauth_config"]["scopes"]["bot"]


def test_socket_mode_manifest_is_valid_and_has_no_urls(schema: dict[str, Any]) -> None:
    manifest = manifest_for("socket", None)
    jsonschema.validate(manifest, schema)
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in manifest["settings"]["interactivity"]
    assert all("url" not in c for c in manifest["features"]["slash_commands"])


def test_http_mode_without_a_url_is_an_error() -> None:
    with pytest.raises(ValueError, match="--url"):
        manifest_for("http", None)


def test_manifest_command_prints_yaml(
    capsys: pytest.CaptureFixture[str], schema: dict[str, Any]
) -> None:
    assert main(["manifest", "--config", str(ROOT / "app.yaml"), "--url", "https://h.example"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    jsonschema.validate(printed, schema)


def test_manifest_has_the_home_tab_the_message_shortcut_and_their_events(
    schema: dict[str, Any],
) -> None:
    manifest = manifest_for("http", "https://wk.example.com")
    jsonschema.validate(manifest, schema)
    features = manifest["features"]
    assert features["app_home"]["home_tab_enabled"] is True
    assert [s["callback_id"] for s in features["shortcuts"]] == ["incident_from_message"]
    assert features["shortcuts"][0]["type"] == "message"
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
