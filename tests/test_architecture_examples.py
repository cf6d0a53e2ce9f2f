"""The worked examples of docs/architecture.md, built from the page itself and run through
the real bot: a new command group answers a signed slash command, and a new fleet backend
type, found by its folder and configured like the page says, answers `/fleet status`."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import integrations.fleet
from standins.loopback import LoopbackServer
from tests.conftest import shipped_permissions
from tests.harness import BotHarness

PAGE = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"
EXAMPLE = re.compile(r"<!-- example: (?P<path>\S+) -->\n```\w*\n(?P<code>.*?)```", re.S)


def examples() -> dict[str, str]:
    """path -> text of every block the page marks as an example."""
    return {m["path"]: m["code"] for m in EXAMPLE.finditer(PAGE.read_text())}


def write_examples(root: Path) -> None:
    for path, code in examples().items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(code)


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def built(tmp_path: Path) -> Path:
    write_examples(tmp_path)
    return tmp_path


def test_the_page_has_both_examples() -> None:
    assert {
        "commands/uptime.py",
        "integrations/fleet/inventory/backend.py",
        "app.yaml",
    } <= set(examples())


async def test_a_new_command_group_answers_its_slash_command(built: Path) -> None:
    uptime = load(built / "commands" / "uptime.py", "commands.uptime")
    # The one line of registration: the group's install, as commands.install would call it.
    async with BotHarness(f"sqlite+aiosqlite:///{built}/wk.db", customize=uptime.install) as h:
        await h.command("alice", "/uptime show")
        refused = await h.wait_for_response("alice")
    # Not granted yet: refused, as every verb no rule names.
    assert "uptime.show" in refused.text and "up for" not in refused.text
    grant = {**shipped_permissions(), "uptime.show": ["anyone"]}
    async with BotHarness(
        f"sqlite+aiosqlite:///{built}/wk2.db", customize=uptime.install, permissions=grant
    ) as h:
        await h.command("alice", "/uptime show")
        reply = await h.wait_for_response("alice")
    assert re.fullmatch(r"This replica has been up for \d+ s\.", reply.text)


INVENTORY = [
    {
        "name": "legacy-billing",
        "kind": "postgres",
        "plan": "standard",
        "region": "eu-west-1",
        "health": "degraded",
        "members": [
            {"name": "legacy-billing-1", "role": "primary", "state": "running", "healthy": True},
            {"name": "legacy-billing-2", "role": "replica", "state": "failed", "healthy": False},
        ],
    }
]


@pytest.fixture
def backend_folder(built: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The example's folder becomes `integrations.fleet.inventory`, as a checkout would have it."""
    extended = [*integrations.fleet.__path__, str(built / "integrations" / "fleet")]
    monkeypatch.setattr(integrations.fleet, "__path__", extended)
    yield


async def test_a_new_backend_type_is_its_folder_and_an_app_yaml_entry(
    built: Path, backend_folder: None
) -> None:
    async def inventory(_: Request) -> JSONResponse:
        return JSONResponse(INVENTORY)

    server = LoopbackServer(Starlette(routes=[Route("/services.json", inventory)]))
    await server.start()
    entry: dict[str, Any] = yaml.safe_load(examples()["app.yaml"])["fleet"]["backends"][0]
    entry["url"] = f"{server.url}/services.json"
    simulator = {"name": "sim", "type": "simulator", "url": "http://127.0.0.1:0"}
    try:
        async with BotHarness(
            f"sqlite+aiosqlite:///{built}/wk.db", fleet={"backends": [entry, simulator]}
        ) as h:
            await h.command("alice", "/fleet status legacy-billing")
            reply = await h.wait_for_response("alice")
            await h.command("alice", "/fleet status pg-orders")  # still the simulator's
            other = await h.wait_for_response("alice", count=2)
    finally:
        await server.stop()
    assert "legacy-billing" in reply.text and "degraded" in reply.text
    assert "pg-orders" in other.text
