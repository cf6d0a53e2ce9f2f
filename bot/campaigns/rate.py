"""Rate controls of a campaign, as typed after the selector: `concurrency=50|5%`,
`max_errors=10|1%`, `waves=1,1%,10%,100%`, `bake=5m` (docs/campaigns.md, "Rate controls").

Parsing is strict: an unknown key, a repeated key, a malformed number or a value past the
`campaigns:` caps is a `RateError` that names the word. Percentages are resolved against
the number of targets once it is known (`Resolved`), as AWS Systems Manager resolves
them against its target count.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

RATE_KEYS = ("concurrency", "max_errors", "waves", "bake")
_AMOUNT = re.compile(r"^(\d{1,7})(%?)$")
_DURATION = re.compile(r"^(\d{1,5})(s|m|h)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
MAX_WAVES = 10


class RateError(ValueError):
    """A rate control that cannot be used; the message names the word and what is wrong."""


@dataclass(frozen=True)
class Amount:
    """A count, or a percentage of the targets (at least one target when above zero)."""

    value: int
    percent: bool = False

    def of(self, total: int) -> int:
        if not self.percent:
            return self.value
        return min(total, math.ceil(total * self.value / 100)) if self.value else 0

    def __str__(self) -> str:
        return f"{self.value}{'%' if self.percent else ''}"


def parse_amount(key: str, text: str, *, zero_ok: bool = False) -> Amount:
    found = _AMOUNT.match(text)
    if found is None:
        raise RateError(f"`{key}={text}`: a whole number or a percentage (like 5%)")
    amount = Amount(int(found.group(1)), bool(found.group(2)))
    if amount.percent and amount.value > 100:
        raise RateError(f"`{key}={text}`: a percentage is at most 100%")
    if amount.value == 0 and not zero_ok:
        raise RateError(f"`{key}={text}`: must be more than 0")
    return amount


def parse_duration(key: str, text: str) -> int:
    """Seconds from `90s`, `5m`, `1h`, or `0`."""
    if text == "0":
        return 0
    found = _DURATION.match(text)
    if found is None:
        raise RateError(f"`{key}={text}`: a duration like 30s, 5m or 1h")
    return int(found.group(1)) * _UNIT_SECONDS[found.group(2)]


def _duration_text(seconds: int) -> str:
    for unit in ("h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True)
class RateControls:
    concurrency: Amount
    max_errors: Amount
    waves: tuple[Amount, ...]
    bake_seconds: int

    def canonical(self) -> dict[str, str]:
        """What an approval is bound to, as typed (percentages stay percentages)."""
        return {
            "concurrency": str(self.concurrency),
            "max_errors": str(self.max_errors),
            "waves": ",".join(str(w) for w in self.waves),
            "bake": _duration_text(self.bake_seconds),
        }

    def resolve(self, total: int, *, max_concurrency: int) -> Resolved:
        return Resolved(
            concurrency=max(1, min(max_concurrency, self.concurrency.of(total))),
            max_errors=self.max_errors.of(total),
            wave_ends=wave_ends(self.waves, total),
            bake_seconds=self.bake_seconds,
        )


@dataclass(frozen=True)
class Resolved:
    """The controls for a known number of targets."""

    concurrency: int
    max_errors: int
    # Cumulative: wave i runs the targets numbered wave_ends[i-1] .. wave_ends[i]-1.
    wave_ends: tuple[int, ...]
    bake_seconds: int

    def wave_sizes(self) -> list[int]:
        starts = (0, *self.wave_ends[:-1])
        return [end - start for start, end in zip(starts, self.wave_ends, strict=True)]


def wave_ends(waves: tuple[Amount, ...], total: int) -> tuple[int, ...]:
    """Where each wave ends, counted from the first target: each wave at least one target
    further than the last, the last one always every target. `1,1%,10%,100%` of 50
    targets is 1, 2, 5, 50; a wave that would add nobody is dropped."""
    ends: list[int] = []
    for wave in waves:
        end = min(total, max(1, wave.of(total)))
        if not ends or end > ends[-1]:
            ends.append(end)
    if total and (not ends or ends[-1] < total):
        ends.append(total)
    return tuple(ends)


def ramp(limit: int, finished: int) -> int:
    """How many targets may run at once after `finished` have ended: 1, then 2, 4, 8, ...
    up to `limit`, doubling as each batch ends, as AWS Systems Manager ramps up."""
    return max(1, min(limit, 1 << max(0, (finished + 1).bit_length() - 1)))


@dataclass(frozen=True)
class RateDefaults:
    concurrency: str = "50"
    max_errors: str = "10"
    waves: str = "1,1%,10%,100%"
    bake: str = "5m"


@dataclass(frozen=True)
class RateCaps:
    max_concurrency: int
    max_bake_seconds: int


def parse_rate_controls(
    words: dict[str, str], *, defaults: RateDefaults, caps: RateCaps
) -> RateControls:
    """The controls from `key=value` words (a missing key takes its default)."""
    unknown = sorted(set(words) - set(RATE_KEYS))
    if unknown:
        raise RateError(f"`{unknown[0]}=`: not a rate control (known: {', '.join(RATE_KEYS)})")
    raw = {
        "concurrency": defaults.concurrency,
        "max_errors": defaults.max_errors,
        "waves": defaults.waves,
        "bake": defaults.bake,
        **words,
    }
    concurrency = parse_amount("concurrency", raw["concurrency"])
    if not concurrency.percent and concurrency.value > caps.max_concurrency:
        raise RateError(
            f"`concurrency={raw['concurrency']}`: at most {caps.max_concurrency} "
            "(campaigns.max_concurrency)"
        )
    max_errors = parse_amount("max_errors", raw["max_errors"], zero_ok=True)
    parts = raw["waves"].split(",")
    if len(parts) > MAX_WAVES:
        raise RateError(f"`waves={raw['waves']}`: at most {MAX_WAVES} waves")
    waves = tuple(parse_amount("waves", p) for p in parts)
    bake = parse_duration("bake", raw["bake"])
    if bake > caps.max_bake_seconds:
        raise RateError(
            f"`bake={raw['bake']}`: at most {_duration_text(caps.max_bake_seconds)} "
            "(campaigns.max_bake)"
        )
    return RateControls(concurrency, max_errors, waves, bake)
