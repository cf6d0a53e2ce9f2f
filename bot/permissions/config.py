"""`permissions:` in `app.yaml`: verb or verb glob -> the roles that may use it.

    permissions:
      "incident.*": [responder]
      incident.list: [anyone]
      audit.read: [auditor]

The most specific rule decides: an exact verb before any glob, then the longest glob. A
verb no rule matches is refused (default deny). `anyone` is every workspace user; other
names are roles from `roles:`.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Annotated

from pydantic import Field, RootModel, field_validator

ANYONE = "anyone"

VerbPattern = Annotated[str, Field(pattern=r"^[a-z*][a-z0-9*.-]*$", max_length=80)]
RoleName = Annotated[str, Field(min_length=1, max_length=60)]


class PermissionsConfig(RootModel[dict[VerbPattern, list[RoleName]]]):
    root: dict[VerbPattern, list[RoleName]] = Field(default_factory=dict)

    @field_validator("root")
    @classmethod
    def _some_role(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        empty = [verb for verb, roles in value.items() if not roles]
        if empty:
            # An empty list reads like "nobody" but is easy to write by mistake: say so.
            raise ValueError(f"{', '.join(empty)}: name at least one role (or remove the rule)")
        return value

    def rule_for(self, verb: str) -> tuple[str, list[str]] | None:
        """(pattern, roles) of the most specific rule that matches `verb`."""
        if verb in self.root:
            return verb, self.root[verb]
        globs = [p for p in self.root if fnmatchcase(verb, p)]
        if not globs:
            return None
        best = max(globs, key=lambda p: (len(p.replace("*", "")), p))
        return best, self.root[best]

    def roles_named(self) -> set[str]:
        return {role for roles in self.root.values() for role in roles}

    def unmatched(self, verbs: Iterable[str]) -> list[str]:
        """Patterns that match no declared verb: a typo there would silently grant nothing."""
        known = list(verbs)
        return [p for p in self.root if not any(fnmatchcase(v, p) for v in known)]
