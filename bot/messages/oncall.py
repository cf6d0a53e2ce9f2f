"""User-facing strings of on-call rotations and handoffs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

# On-call rotations (`/oncall`).

NO_ROTATIONS = "No on-call rotations are configured (`oncall.rotations` in app.yaml)."
BAD_UNTIL = (
    "Give the end as a duration (`4h`, `90m`, `2d`) or a time with offset "
    "(`2026-12-24T09:00+01:00`), at most 31 days ahead."
)


def which_rotation(names: str) -> str:
    return f"Which rotation? One of {names}."


def not_in_rotation(rotation: str) -> str:
    return f"Only members of `{rotation}` can change who is on call for it."


def override_set(rotation: str, user: str, until: str) -> str:
    return f"<@{user}> is on call for `{rotation}` until {until}."
