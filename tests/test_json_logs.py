"""`logging.format: json`: one object per line with the ids of the work a record is about,
credential URLs still redacted; scheduler chatter only at debug."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bot.config import ConfigError, parse_config
from bot.log_context import bound, current
from bot.logs import LogFormat, configure_logging
from tests.conftest import base_config
from tests.harness import BotHarness

HOOK = "https://hooks.slack.com/commands/T0WATCH01/123/SeCrEtPaRt"


@pytest.fixture
def root() -> Iterator[logging.Logger]:
    """The root logger as a fresh process has it; restored after."""
    logger = logging.getLogger()
    saved, level = list(logger.handlers), logger.level
    yield logger
    for handler in logger.handlers:
        if handler not in saved:
            handler.close()
    logger.handlers, logger.level = saved, level
    logging.getLogger("apscheduler").setLevel(logging.NOTSET)


def configure_fresh(root: logging.Logger, level: int, fmt: LogFormat) -> None:
    # pytest adds its capture handler for the test's call; a fresh process has none.
    root.handlers = []
    configure_logging(level, fmt)


def lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line]


def test_a_record_is_one_object_with_the_ids_bound_around_it(
    root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_fresh(root, logging.INFO, "json")
    log = logging.getLogger("bot.actions.execute")
    with bound(action_id="req-1"):
        with bound(operation_id="op-9"):
            log.warning("start of %s has no clear outcome", "req-1")
        log.info("outside the operation")
    log.info("outside the action")
    first, second, third = lines(capsys.readouterr().err)
    assert first["level"] == "warning"
    assert first["logger"] == "bot.actions.execute"
    assert first["message"] == "start of req-1 has no clear outcome"
    assert (first["action_id"], first["operation_id"]) == ("req-1", "op-9")
    assert str(first["time"]).endswith("+00:00")
    assert second["action_id"] == "req-1" and "operation_id" not in second
    assert "action_id" not in third


def test_credential_urls_are_redacted_in_json_too(
    root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_fresh(root, logging.INFO, "json")
    log = logging.getLogger("httpx")
    log.info("HTTP Request: POST %s", HOOK)
    try:
        raise RuntimeError(f"cannot post to {HOOK}")
    except RuntimeError:
        log.exception("reply failed")
    err = capsys.readouterr().err
    assert "SeCrEtPaRt" not in err
    message, failure = lines(err)
    assert "hooks.slack.com/commands/" in str(message["message"])
    assert "RuntimeError" in str(failure["exception"])


def test_unknown_context_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="team"), bound(team="T1"):
        pass


@pytest.mark.parametrize(("level", "shown"), [(logging.INFO, False), (logging.DEBUG, True)])
def test_scheduler_chatter_shows_only_at_debug(
    root: logging.Logger, capsys: pytest.CaptureFixture[str], level: int, shown: bool
) -> None:
    configure_fresh(root, level, "text")
    logging.getLogger("apscheduler.executors.default").info('Job "tick" executed successfully')
    logging.getLogger("bot.outbox").info("sent 3")
    err = capsys.readouterr().err
    assert ("executed successfully" in err) is shown
    assert "sent 3" in err


def test_the_logging_section_is_checked() -> None:
    config = parse_config(base_config(logging={"format": "json", "level": "debug"}), {})
    assert (config.logging.format, config.logging.level_number) == ("json", logging.DEBUG)
    with pytest.raises(ConfigError) as bad:
        parse_config(base_config(logging={"format": "xml"}), {})
    assert any(path.startswith("logging.format") for path, _ in bad.value.problems)


def test_levels_per_logger_override_the_quiet_defaults(
    root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    config = parse_config(base_config(logging={"loggers": {"apscheduler": "info"}}), {})
    root.handlers = []
    configure_logging(config.logging.level_number, "text", config.logging.logger_levels)
    logging.getLogger("apscheduler.executors.default").info('Job "tick" executed successfully')
    assert "executed successfully" in capsys.readouterr().err


class _Ids(logging.Handler):
    """What `bot.log_context` holds when each record is emitted."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[tuple[str, dict[str, str]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record.getMessage(), dict(current())))


async def test_the_work_of_a_command_logs_under_its_request_id(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    ids = _Ids()
    logging.getLogger().addHandler(ids)
    try:
        async with BotHarness(db_url) as h:
            await h.command("alice", "/fleet status pg-orders")
            await h.wait_for_response("alice")
            await h.command("alice", "/fleet status pg-orders")
            await h.wait_for_response("alice", 2)
    finally:
        logging.getLogger().removeHandler(ids)
    # The fleet is asked over HTTP inside each command: httpx's lines carry its id.
    asked = [c.get("request_id") for m, c in ids.seen if "HTTP Request" in m and "/services/" in m]
    assert len(asked) >= 2 and None not in asked
    assert len(set(asked)) >= 2  # one id per command
