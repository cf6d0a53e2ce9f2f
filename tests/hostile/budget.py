"""How many examples the hostile-input suite tries: the `ci` profile (the default, what
`make test` runs) or `fuzz` (ten times more, `make fuzz`), chosen by HYPOTHESIS_PROFILE.

The profiles apply to this suite only: each test asks `budget(n)` for its settings, n
being its share of a ci run, so the rest of the tests keep hypothesis' own defaults."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

CI_EXAMPLES = 100
settings.register_profile(
    "ci",
    max_examples=CI_EXAMPLES,
    # One bot per module answers every example; timing varies with the machine's load.
    deadline=None,
    # The same examples on every run and no example database: a CI failure reproduces.
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
settings.register_profile(
    "fuzz",
    settings.get_profile("ci"),
    max_examples=10 * CI_EXAMPLES,
    # New examples on every run, and the failures found are kept to be replayed first.
    derandomize=False,
    database=settings().database,
)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
_CHOSEN = settings.get_profile(PROFILE if PROFILE in ("ci", "fuzz") else "ci")


def budget(examples: int, *, shrink: bool = True) -> settings:
    """The chosen profile with `examples` scaled by it (`examples` is the ci share).
    `shrink=False` for properties known to fail until a fix lands: a failure is reported
    as found, without minutes spent minimising it."""
    scaled = max(1, examples * _CHOSEN.max_examples // CI_EXAMPLES)
    if shrink:
        return settings(_CHOSEN, max_examples=scaled)
    return settings(
        _CHOSEN, max_examples=scaled, phases=[Phase.explicit, Phase.reuse, Phase.generate]
    )
