"""The fleet selector: which services a command (or a campaign) is about.

    engine=postgres region=us-east-1 version<16.4 health=degraded plan=hobby
    tag:team=payments incident=42 name~pg-orders-*

Terms are separated by whitespace and all must hold (AND). A term is `field op value`:

    field   engine | region | version | health | plan | name | tag:<key> | incident
    op      =  !=  <  <=  >  >=  ~ (glob: * ? [abc])

`<`, `<=`, `>`, `>=` compare versions as versions (16.10 > 16.4, 7.2.5 < 7.10), and only
versions. A service whose field is unknown (no version reported) matches no comparison
and no `=`, and matches `!=`. `incident` is not a field of the fleet: the bot resolves it
to the services attached to that incident (docs/campaigns.md, "Selector grammar").

The same grammar is the fleet API's server-side filter (`match=` in docs/fleet-api.yaml),
so the bot, the HTTP backend and the simulator share this module. Everything here is
pure: parsing never raises anything but `SelectorError`, whatever the text.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from fnmatch import translate
from typing import Literal, Protocol

Op = Literal["=", "!=", "<", "<=", ">", ">=", "~"]
# Longest first, so `<=` is not read as `<` followed by a value starting with `=`.
OPS: tuple[Op, ...] = ("!=", "<=", ">=", "=", "<", ">", "~")
ORDERING: frozenset[Op] = frozenset({"<", "<=", ">", ">="})
FIELDS = ("engine", "region", "version", "health", "plan", "name", "incident")
TAG_PREFIX = "tag:"
# The fields the fleet knows (everything but `incident`, which the bot resolves).
FLEET_FIELDS = frozenset(FIELDS) - {"incident"}
# The fields whose values many services share (a listing judges them per combination).
SHARED_FIELDS = ("engine", "region", "version", "health", "plan")
_shared_values = operator.attrgetter("kind", "region", "version", "health", "plan")

MAX_TEXT = 1000
MAX_TERMS = 20
MAX_VALUE = 200
MAX_WILDCARDS = 8
MAX_REMEMBERED = 4096
_TAG_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/]{0,62}")
# Printable, no whitespace, no quotes or markup characters that could mean something else
# in Slack or a URL; names, regions, plans, versions and tag values fit in this.
_VALUE = re.compile(r"[A-Za-z0-9_.:/@+\-*?\[\]!#]+")
_VERSION = re.compile(r"\d{1,9}(?:\.\d{1,9}){0,5}")
_INCIDENT = re.compile(r"(?:inc-|#)?(\d{1,18})", re.IGNORECASE)


class SelectorError(ValueError):
    """A selector that cannot be read; `term` is the offending term as typed."""

    def __init__(self, term: str, why: str) -> None:
        self.term = term
        self.why = why
        super().__init__(f"{term}: {why}" if term else why)


Version = tuple[int, ...]


@functools.lru_cache(maxsize=4096)
def parse_version(text: str | None) -> Version | None:
    """`16.4` -> (16, 4); trailing zeros dropped so 16.4 == 16.4.0; None if not a version."""
    if text is None or not _VERSION.fullmatch(text):
        return None
    parts = [int(p) for p in text.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


class Described(Protocol):
    """What a term reads of a service: `ServiceSummary` and `Service` both fit."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def region(self) -> str: ...
    @property
    def health(self) -> str: ...


def field_value(service: Described, field: str) -> str | None:
    """The service's value of a fleet field (`tag:key` included); None when unknown."""
    if field == "engine":
        return service.kind
    if field.startswith(TAG_PREFIX):
        tags: Mapping[str, str] = getattr(service, "tags", None) or {}
        return tags.get(field[len(TAG_PREFIX) :])
    value = getattr(service, field, None)
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Term:
    field: str
    op: Op
    value: str
    # A listing checks every item it receives against every term, so a term is prepared
    # once: its glob compiled, and the answers for the few values a field other than
    # `name` takes (engines, regions, versions, ...) remembered, up to MAX_REMEMBERED.
    _glob: Callable[[str], object] | None = dataclass_field(
        default=None, init=False, repr=False, compare=False
    )
    _known: dict[str | None, bool] = dataclass_field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.op == "~":
            object.__setattr__(self, "_glob", re.compile(translate(self.value)).match)

    def __str__(self) -> str:
        return f"{self.field}{self.op}{self.value}"

    @property
    def for_fleet(self) -> bool:
        return self.field != "incident"

    @property
    def incident_id(self) -> int:
        """The incident number of an `incident=` term (checked when it was parsed)."""
        found = _INCIDENT.fullmatch(self.value)
        assert found is not None and self.field == "incident"
        return int(found.group(1))

    def holds(self, actual: str | None) -> bool:
        """Whether a service whose field is `actual` satisfies this term."""
        if actual is None:
            return self.op == "!="
        if self._glob is not None:
            return self._glob(actual) is not None
        if self.field == "version":
            mine, theirs = parse_version(self.value), parse_version(actual)
            if mine is not None and theirs is not None:
                return _compare(theirs, self.op, mine)
            if self.op in ORDERING:
                return False  # a version that is not one is not older or newer than any
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        return False  # ordering on a field that is not a version was refused at parse

    def matches(self, service: Described) -> bool:
        actual = field_value(service, self.field)
        known = self._known.get(actual)
        if known is not None:
            return known
        answer = self.holds(actual)
        if self.field != "name" and len(self._known) < MAX_REMEMBERED:
            self._known[actual] = answer
        return answer


def _compare(a: Version, op: Op, b: Version) -> bool:
    width = max(len(a), len(b))
    a, b = a + (0,) * (width - len(a)), b + (0,) * (width - len(b))
    return {
        "=": a == b,
        "!=": a != b,
        "<": a < b,
        "<=": a <= b,
        ">": a > b,
        ">=": a >= b,
    }[op]


@dataclass(frozen=True)
class Selector:
    terms: tuple[Term, ...]
    _fleet: tuple[Term, ...] = dataclass_field(init=False, repr=False, compare=False)
    # Terms on the fields a service shares with many others (engine, region, version,
    # health, plan) are judged once per combination of their values; names and tags
    # term by term.
    _shared: tuple[Term, ...] = dataclass_field(init=False, repr=False, compare=False)
    _own: tuple[Term, ...] = dataclass_field(init=False, repr=False, compare=False)
    _known: dict[object, bool] = dataclass_field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        fleet = tuple(t for t in self.terms if t.for_fleet)
        shared = tuple(t for t in fleet if t.field in SHARED_FIELDS)
        object.__setattr__(self, "_fleet", fleet)
        object.__setattr__(self, "_shared", shared)
        object.__setattr__(self, "_own", tuple(t for t in fleet if t not in shared))

    def __str__(self) -> str:
        return " ".join(str(t) for t in self.terms)

    @property
    def fleet_terms(self) -> tuple[Term, ...]:
        return self._fleet

    @property
    def incident_terms(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if not t.for_fleet)

    def matches(self, service: Described) -> bool:
        """Whether every fleet term holds (incident terms are the bot's to resolve)."""
        if self._shared:
            try:
                key: object = _shared_values(service)
            except AttributeError:  # a description without `plan` or `version`
                key = tuple(field_value(service, f) for f in SHARED_FIELDS)
            known = self._known.get(key)
            if known is None:
                known = all(t.matches(service) for t in self._shared)
                if len(self._known) < MAX_REMEMBERED:
                    self._known[key] = known
            if not known:
                return False
        return all(t.matches(service) for t in self._own)


def _split(term: str) -> tuple[str, Op, str]:
    for i, ch in enumerate(term):
        if ch in "=!<>~":
            op = next((o for o in OPS if term.startswith(o, i)), None)
            if op is None:
                raise SelectorError(term, "expected one of = != < <= > >= ~ after the field")
            return term[:i], op, term[i + len(op) :]
    raise SelectorError(term, "expected field, operator and value, e.g. region=us-east-1")


def parse_term(term: str) -> Term:
    """One `field op value`, or `SelectorError` naming it and saying why."""
    if len(term) > MAX_TEXT:
        raise SelectorError(term[:40] + "…", f"longer than {MAX_TEXT} characters")
    field, op, value = _split(term)
    field = field.lower()
    if field.startswith(TAG_PREFIX):
        if not _TAG_KEY.fullmatch(field[len(TAG_PREFIX) :]):
            raise SelectorError(term, "a tag is tag:<key>, the key letters, digits, _ . - /")
    elif field not in FIELDS:
        known = ", ".join((*FIELDS, "tag:<key>"))
        raise SelectorError(term, f"unknown field {field or '(none)'}; known: {known}")
    if not value:
        raise SelectorError(term, "no value after the operator")
    if len(value) > MAX_VALUE:
        raise SelectorError(term, f"the value is longer than {MAX_VALUE} characters")
    if not _VALUE.fullmatch(value):
        raise SelectorError(term, "a value holds letters, digits and _ . : / @ + - * ? [ ] ! #")
    if op != "~" and any(c in value for c in "*?["):
        raise SelectorError(term, f"wildcards need ~ (glob), e.g. {field}~{value}")
    if op == "~" and sum(value.count(c) for c in "*?[") > MAX_WILDCARDS:
        raise SelectorError(term, f"at most {MAX_WILDCARDS} wildcards")
    if op in ORDERING:
        if field != "version":
            raise SelectorError(term, f"{op} compares versions only; use = != or ~ here")
        if parse_version(value) is None:
            raise SelectorError(term, "not a version (digits and dots, e.g. 16.4)")
    if field == "incident" and (op != "=" or not _INCIDENT.fullmatch(value)):
        raise SelectorError(term, "incident=<number> (e.g. incident=42 or incident=INC-42)")
    return Term(field, op, value)


def parse_selector(text: str) -> Selector:
    """The selector in `text`; `SelectorError` for the first bad term, or when empty or
    over the bounds (MAX_TEXT characters, MAX_TERMS terms)."""
    if len(text) > MAX_TEXT:
        raise SelectorError("", f"a selector is at most {MAX_TEXT} characters")
    words = text.split()
    if not words:
        raise SelectorError("", "an empty selector; e.g. engine=postgres region=us-east-1")
    if len(words) > MAX_TERMS:
        raise SelectorError("", f"at most {MAX_TERMS} terms")
    return Selector(tuple(parse_term(w) for w in words))
