"""The built artifact runs by itself: deploy/install-wheel.sh builds the sdist and the wheel
and installs the wheel, with the runtime lock only, into a venv outside the checkout;
from a folder outside the checkout that copy reports its version, writes and checks its
example config, prints the Slack manifest, migrates a fresh PostgreSQL database, serves,
and acks a signed slash command.

The dependencies come from the runtime lock (`pip install --require-hashes`), as in the
image: pip takes them from its cache, which `make .venv/.installed` filled, so the index
is asked but nothing is downloaded again. Linking the test venv's site-packages in instead
would be faster but would hide a dependency missing from the lock.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
import yaml

from bench.load import free_port
from integrations.slack.sender import SlackSender
from tests.bot_process import ROOT, ServiceProcess, StandInProcess, eventually, show_logs
from tests.conftest import PG_ADMIN, need_real

pytestmark = pytest.mark.integration

# Slack's side of the example config (app.yaml): its demo signing secret.
SIGNING_SECRET = "demo-signing-secret"


class Installed:
    """The venv the wheel went into, and a working folder outside the checkout."""

    def __init__(self, venv: Path, cwd: Path) -> None:
        self.venv = venv
        self.cwd = cwd
        # Nothing of the checkout on the path: what runs is the installed copy or nothing.
        self.env = {**os.environ, "PYTHONPATH": "", "VIRTUAL_ENV": str(venv)}

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    def run(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [self.bin("watchkeeper"), *args],
            cwd=self.cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"watchkeeper {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    if importlib.util.find_spec("build") is None:
        need_real("`build` is not installed (requirements-dev.lock)")
    base = tmp_path_factory.mktemp("installed")
    assert ROOT not in base.parents, "the installed copy must live outside the checkout"
    done = subprocess.run(
        ["bash", str(ROOT / "deploy" / "install-wheel.sh"), str(base / "venv")],
        env={**os.environ, "BUILD_PYTHON": sys.executable, "DIST_DIR": str(base)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    work = base / "work"
    work.mkdir()
    return Installed(base / "venv", work)


@pytest.fixture
def empty_pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database (not the migrated template): `db upgrade` fills it."""
    name = f"wk_wheel_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        need_real(f"PostgreSQL not reachable at {PG_ADMIN}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_installed_copy_is_the_wheel_not_the_checkout(installed: Installed) -> None:
    done = subprocess.run(
        [installed.bin("python"), "-c", "import bot, standins; print(bot.__file__)"],
        cwd=installed.cwd,
        env=installed.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(done.stdout.strip()).is_relative_to(installed.venv)
    assert installed.run("--version").startswith("watchkeeper 0.1.0")


def test_the_example_config_and_manifest_ship_in_the_wheel(installed: Installed) -> None:
    config = installed.cwd / "example" / "app.yaml"
    assert "wrote" in installed.run("init-config", "--config", str(config))
    assert config.read_text() == (ROOT / "app.yaml").read_text()
    assert ": ok" in installed.run("check-config", "--config", str(config))

    manifest = yaml.safe_load(
        installed.run("manifest", "--config", str(config), "--url", "https://wk.example.com")
    )
    commands = {c["command"]: c["url"] for c in manifest["features"]["slash_commands"]}
    assert commands["/fleet"] == "https://wk.example.com/slack/events"


def test_the_installed_copy_migrates_serves_and_acks_a_signed_command(
    installed: Installed, empty_pg_database: str, tmp_path: Path
) -> None:
    # The example config, on ports of this test's own (its simulated fleet is served by the
    # bot itself on the address the config names).
    raw = yaml.safe_load((ROOT / "app.yaml").read_text())
    raw["fleet"]["backends"][0]["url"] = f"http://127.0.0.1:{free_port()}"
    config = installed.cwd / "serve.yaml"
    config.write_text(yaml.safe_dump(raw))

    standin = StandInProcess(tmp_path)
    standin.command = [installed.bin("python"), "-m", "standins.slack", "--port", str(standin.port)]
    env = {"WATCHKEEPER_DB_URL": empty_pg_database, "SLACK_API_URL": standin.url + "/api/"}
    assert "schema at" in installed.run("db", "upgrade", "--config", str(config), env=env)

    port = free_port()
    bot = ServiceProcess(
        "installed-bot",
        [installed.bin("watchkeeper"), "serve", "--config", str(config), "--port", str(port)],
        port,
        tmp_path,
    )
    for process in (standin, bot):
        process.cwd, process.env = installed.cwd, {**installed.env, **env}
    try:
        standin.start()
        bot.start()
        asyncio.run(standin.wait_ready("/_standin/calls?method=chat.postMessage"))
        asyncio.run(bot.wait_ready("/readyz?scope=replica"))
        ack, reply = asyncio.run(_slash_command(bot.url, standin))
    finally:
        bot.stop()
        standin.stop()
        show_logs(bot, standin)
    assert (ack.status_code, ack.text) == (200, "")  # acked at once; the reply follows
    assert "/oncall who" in reply


async def _slash_command(url: str, standin: StandInProcess) -> tuple[httpx.Response, str]:
    """`/oncall help` from alice, signed as Slack signs it: the ack, and the reply the bot
    then posted to the command's response_url."""
    sender = SlackSender(
        url + "/slack/events", SIGNING_SECRET, response_url_for=standin.response_url
    )
    ack = await sender.command(
        "/oncall", "help", user_id="UALICE01", user_name="alice", channel_id="C0DEMO001"
    )

    async def replied() -> str | None:
        found = await standin.responses("UALICE01")
        return json.dumps(found) if found else None

    return ack, await eventually(replied, what="the reply to /oncall help")
