"""What every intake parser shares: the payload error, reading JSON, HMAC checks, and
turning raw fields into a `Page` that is valid by construction.

A parser either returns every page of a delivery or raises `InvalidPayload`: the core
never sees half a batch, so a sender that retries a rejected delivery retries all of it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import pydantic_core
from pydantic import BaseModel, ValidationError

from integrations.pages import TRUNCATED, Page, PageBatch, PageLimits, RefusedPage

Model = TypeVar("Model", bound=BaseModel)
MAX_KEY = 200
MAX_REASON_ERRORS = 3
# A real signature header has one or two values; a cap keeps a hostile one cheap.
MAX_SIGNATURES = 16
# An http(s) URL without the characters that would end a Slack `<url|text>` link early or
# smuggle mrkdwn into it (and without control characters).
_SAFE_URL = re.compile(r"https?://[^\s<>|\"'`\x00-\x1f\x7f]+", re.IGNORECASE)


class InvalidPayload(Exception):
    """The body (or one page of it) cannot become pages. `status` is 400 when it is not
    JSON at all and 422 when it is JSON of the wrong shape; `reason` is safe to send back
    to the sender, and `field` names the page field at fault when there is one."""

    def __init__(self, reason: str, *, status: int = 422, field: str = "") -> None:
        self.reason = reason
        self.status = status
        self.field = field
        super().__init__(reason)


def describe(exc: ValidationError) -> str:
    """Where and what was wrong, never the offending value (it may be huge or hostile)."""
    parts = [
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
        for e in exc.errors(include_url=False, include_input=False)[:MAX_REASON_ERRORS]
    ]
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def _is_json_error(exc: ValidationError) -> bool:
    return any(e["type"] == "json_invalid" for e in exc.errors(include_url=False))


def validate(model: type[Model], body: bytes) -> Model:
    """`body` as `model`: 400 when it is not JSON, 422 when the JSON has the wrong shape."""
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        if _is_json_error(exc):
            raise InvalidPayload("body is not valid JSON", status=400) from None
        raise InvalidPayload(describe(exc)) from None


def load_json(body: bytes) -> Any:
    """Any JSON document. pydantic-core's parser bounds nesting depth (a deep `[[[[...` is an
    error, not a RecursionError) and refuses lone surrogates, which no database stores."""
    try:
        return pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError:
        raise InvalidPayload("body is not valid JSON", status=400) from None


# -- signatures --------------------------------------------------------------------------


def hmac_sha256_hex(secret: str, *parts: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)
    for part in parts:
        mac.update(part)
    return mac.hexdigest()


def any_equal(expected: Iterable[str], offered: Iterable[str]) -> bool:
    """True when some offered value equals some expected one. Every pair is compared with
    `hmac.compare_digest` on fixed-length digests, so neither the position of a match nor
    the length of a guess shows in the timing."""
    want = [hashlib.sha256(e.encode("utf-8", "surrogatepass")).digest() for e in expected]
    found = False
    for value in offered:
        got = hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()
        for digest in want:
            found |= hmac.compare_digest(digest, got)
    return found


# -- building pages ----------------------------------------------------------------------


def clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def bounded_key(value: str) -> str:
    """A dedup key that fits the column: long keys become their SHA-256, which keeps the
    identity (the same long key always maps to the same short one)."""
    value = value.strip()
    if len(value) <= MAX_KEY:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def safe_url(value: str | None, limit: int = 1000) -> str | None:
    """An http(s) URL that can go inside a Slack link, or None: a link is a convenience,
    and a bad one is dropped rather than failing the whole page."""
    if not value:
        return None
    value = value.strip()
    if len(value) > limit or not _SAFE_URL.fullmatch(value):
        return None
    return value


def as_utc(value: datetime | None) -> datetime | None:
    """UTC, or None for the Go zero time (`0001-01-01T00:00:00Z`) that means "not set"."""
    if value is None:
        return None
    try:
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        utc = aware.astimezone(UTC)
    except OverflowError:
        raise InvalidPayload("a timestamp is out of range") from None
    return None if utc.year <= 1 else utc


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):  # labels: flat, text to text
        return any("\x00" in str(k) or "\x00" in str(v) for k, v in value.items())
    return False


def truncated(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, the cut marked so no reader takes it for whole."""
    return text if len(text) <= limit else text[: limit - len(TRUNCATED)] + TRUNCATED


# Fields that only describe the alert to people: cut to fit, marked. `source`, `service`
# and `kind` are refused instead (422 naming the field): intake, routing and grouping
# key on them, so two different overlong values cut to one prefix would be routed and
# merged as one. `dedup_key` is never cut either: `bounded_key` hashes a long one, which
# keeps distinct keys distinct. URLs that do not fit are dropped by `safe_url`.
_CUT = ("title", "summary", "description")
_REFUSED = ("source", "service", "kind", "dedup_key")


def _fit_labels(labels: dict[str, str]) -> dict[str, str]:
    if len(labels) > PageLimits.labels:
        raise InvalidPayload(f"labels: more than {PageLimits.labels}", field="labels")
    fitted: dict[str, str] = {}
    for key, value in labels.items():
        if len(key) > PageLimits.label_key:
            # Grouping and routing rules name labels by key: a cut key would be another.
            raise InvalidPayload(
                f"labels: a label name is longer than {PageLimits.label_key} characters",
                field="labels",
            )
        # The region label is also stored in a column of its own; other values are text
        # for people and for grouping keys, which are hashed whatever their length.
        limit = PageLimits.region if key == "region" else PageLimits.label_value
        fitted[key] = truncated(value, limit)
    return fitted


def _fit(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields cut or refused per their storage limits (`PageLimits`)."""
    fitted = dict(fields)
    for name in _CUT:
        if isinstance(fitted.get(name), str):
            fitted[name] = truncated(fitted[name].strip(), getattr(PageLimits, name))
    for name in _REFUSED:
        value = fitted.get(name)
        limit = getattr(PageLimits, name)
        if isinstance(value, str) and len(value) > limit:
            raise InvalidPayload(f"{name}: longer than {limit} characters", field=name)
    if isinstance(fitted.get("labels"), dict):
        fitted["labels"] = _fit_labels(fitted["labels"])
    return fitted


def make_page(**fields: Any) -> Page:
    """A `Page` that fits its storage, or `InvalidPayload` (422) naming what did not fit.
    NUL characters are refused here because PostgreSQL cannot store them in text
    columns."""
    for name, value in fields.items():
        if _has_nul(value):
            raise InvalidPayload(f"{name} contains a NUL character", field=name)
    try:
        return Page(**_fit(fields))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]["loc"]
        raise InvalidPayload(describe(exc), field=str(first[0]) if first else "") from None


def page_batch(
    items: Sequence[Any],
    build: Callable[[Any], Page],
    *,
    where: Callable[[int], str] = lambda index: f"alerts[{index}]: ",
    delivery_id: str | None = None,
) -> PageBatch:
    """Each item built into a page; an item that cannot be is refused on its own, with
    the reason, so one bad page never holds back the good ones of its delivery. When no
    page at all can be built, the delivery is refused with the first reason."""
    pages: list[Page] = []
    refused: list[RefusedPage] = []
    for index, item in enumerate(items):
        try:
            pages.append(build(item))
        except InvalidPayload as exc:
            refused.append(RefusedPage(index, exc.field, where(index) + exc.reason))
    if refused and not pages:
        first = refused[0]
        raise InvalidPayload(first.reason, field=first.field)
    return PageBatch(pages=pages, delivery_id=delivery_id, refused=tuple(refused))


def verify_hmac(
    body: bytes,
    signature: str | None,
    secrets: Sequence[str],
    *,
    prefix: str = "",
    timestamp: str | None = None,
    now: float,
    max_skew_seconds: float = 300.0,
) -> bool:
    """True when `signature` (one value, or several separated by commas, each after
    `prefix`) is the hex HMAC-SHA256 under one of `secrets` of the body, or, when a
    `timestamp` is given, of `timestamp + ":" + body` with the timestamp (Unix seconds)
    no further than `max_skew_seconds` from `now`."""
    if not signature or not secrets:
        return False
    parts: tuple[bytes, ...] = (body,)
    if timestamp is not None:
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return False
        if abs(now - int(timestamp)) > max_skew_seconds:
            return False
        parts = (timestamp.encode("ascii"), b":", body)
    offered = []
    for value in signature.split(",")[:MAX_SIGNATURES]:
        value = value.strip()
        if value[: len(prefix)].lower() == prefix.lower():
            offered.append(value[len(prefix) :].lower())
    return any_equal((hmac_sha256_hex(s, *parts) for s in secrets), offered)
