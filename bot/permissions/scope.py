"""What an invocation acts on, when where it may act from depends on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class IncidentRef:
    """An incident or a storm: acted on only from its own channel or thread."""

    kind: Literal["incident", "storm"]
    id: int
