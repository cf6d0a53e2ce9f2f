"""The action modal's own checks, answered in the modal before anything is recorded, and
the sealing of a modal's origin (bot/actions/action_form.py, bot/modals.py)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.actions import action_form
from bot.interactions import Submission
from bot.modals import seal, unseal, values_of


def submission(action: str, **values: str | list[str]) -> Submission:
    origin = {"action": action, "word": action, "target": "pg-orders", "channel": "C0DEMO001"}
    return Submission("fleet-action", "V1", "UALICE01", "alice", dict(values), origin)


@pytest.mark.parametrize(
    ("action", "values", "field", "says"),
    [
        ("maintenance", {"mode": "schedule"}, "at", "needs a time"),
        ("maintenance", {"mode": "run", "at": "2026-01-06T03:00:00+00:00"}, "at", "takes none"),
        ("maintenance", {"mode": "schedule", "at": "tomorrow"}, "at", "not an ISO 8601 time"),
        ("maintenance", {"mode": "schedule", "at": "2026-01-06T03:00:00"}, "at", "UTC offset"),
        ("switchover", {"candidate": "pg-orders-2; rm"}, "candidate", "not a member name"),
        ("reinit", {}, "member", "required"),
        ("switchover", {"break-glass": ["break-glass"]}, "reason", "needs a reason"),
    ],
)
def test_the_action_modal_says_what_is_wrong_under_the_field(
    action: str, values: dict[str, Any], field: str, says: str
) -> None:
    errors = action_form.check(submission(action, **values), rt=None)  # type: ignore[arg-type]
    assert list(errors) == [field] and says in errors[field]


def test_a_complete_action_modal_passes() -> None:
    ok = submission("maintenance", mode="schedule", at="2026-01-06T03:00:00+00:00")
    assert action_form.check(ok, rt=None) == {}  # type: ignore[arg-type]
    glass = submission("restart", reason="primary wedged", **{"break-glass": ["break-glass"]})
    assert action_form.check(glass, rt=None) == {}  # type: ignore[arg-type]


def test_only_actions_with_parameters_left_open_need_a_modal() -> None:
    assert action_form.needs_form("switchover", {})
    assert action_form.needs_form("restart", {})
    assert not action_form.needs_form("reinit", {"member": "pg-orders-3"})
    assert not action_form.needs_form("pause", {})
    assert not action_form.needs_form("cancel", {})


class _Secret:
    def __init__(self, value: str) -> None:
        self.value = value

    def get_secret_value(self) -> str:
        return self.value


class _Rt:
    """Only what sealing reads: the signing secret."""

    def __init__(self, secret: str) -> None:
        self.config = type("C", (), {"slack": type("S", (), {"signing_secret": _Secret(secret)})})


def test_a_sealed_origin_comes_back_and_anything_else_does_not() -> None:
    rt, other = _Rt("secret-one"), _Rt("secret-two")
    origin = {"incident": 7, "channel": "C0DEMO001", "thread_ts": "1.2"}
    sealed = seal(rt, origin)  # type: ignore[arg-type]
    assert unseal(rt, sealed) == origin  # type: ignore[arg-type]
    body, _, mac = sealed.rpartition(".")
    assert unseal(other, sealed) is None  # type: ignore[arg-type]
    assert unseal(rt, f"{body}.{'0' * len(mac)}") is None  # type: ignore[arg-type]
    assert unseal(rt, '{"incident": 7}') is None  # type: ignore[arg-type]
    assert unseal(rt, None) is None  # type: ignore[arg-type]


def test_view_values_read_only_what_slack_shapes() -> None:
    view = {"state": {"values": {
        "reason": {"value": {"type": "plain_text_input", "value": "why"}},
        "candidate": {"value": {"type": "static_select", "selected_option": {"value": "pg-2"}}},
        "glass": {"value": {"type": "checkboxes", "selected_options": [{"value": "g"}, 3]}},
        "empty": {"value": {"type": "plain_text_input", "value": None}},
        "odd": "not an object",
    }}}  # fmt: skip
    assert values_of(view) == {"reason": "why", "candidate": "pg-2", "glass": ["g"]}
    assert values_of({"state": []}) == {} and values_of(None) == {}


def test_parameters_that_are_not_members_are_typed_and_checked() -> None:
    spec = next(s for s in action_form.CATALOG.values() if any(p.kind == "topic" for p in s.params))
    topic = next(p.name for p in spec.params if p.kind == "topic")
    errors = action_form.check(submission(spec.name, **{topic: "../etc"}), rt=None)  # type: ignore[arg-type]
    assert topic in errors and "Kafka" in errors[topic]
