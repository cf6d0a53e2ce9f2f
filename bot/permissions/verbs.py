"""Verbs: the name of what a command or button does, as `permissions:` rules name it.

A handler declares its verb when it is registered; one whose verb depends on its first
word (`/fleet automation pause`) declares a `VerbChoice`, so every verb it can use is known
at start-up and `permissions:` can be checked against them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

VERB = re.compile(r"[a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)+")


def checked_verb(verb: str) -> str:
    """The verb if it is spelled `area.what` (lowercase words and dashes), else a start-up error."""
    if not VERB.fullmatch(verb):
        raise ValueError(f"bad verb {verb!r}: expected lowercase words joined by dots")
    return verb


@dataclass(frozen=True)
class VerbChoice:
    """The verb picked by a word (a command's first argument, a button's action word);
    a word not listed takes `default`, and no default refuses it (default deny)."""

    by_word: Mapping[str, str]
    default: str | None = None

    def __post_init__(self) -> None:
        for verb in self.verbs():
            checked_verb(verb)

    def pick(self, word: str | None) -> str | None:
        return self.by_word.get((word or "").lower(), self.default)

    def verbs(self) -> list[str]:
        return sorted({*self.by_word.values(), *([self.default] if self.default else [])})


Verb = str | VerbChoice


def declared(verb: Verb) -> list[str]:
    """Every verb a registration can use; raises on a badly spelled one."""
    return verb.verbs() if isinstance(verb, VerbChoice) else [checked_verb(verb)]


def pick(verb: Verb, word: str | None) -> str | None:
    return verb.pick(word) if isinstance(verb, VerbChoice) else verb


def all_of(verbs: Iterable[Verb]) -> frozenset[str]:
    return frozenset(v for verb in verbs for v in declared(verb))
