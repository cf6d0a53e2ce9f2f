"""The one retry policy of the clients of outside systems (fleet API, Alertmanager,
PagerDuty, Slack's `auth.test` at start), on `tenacity`.

Each client says *whether* a failure may be retried (only what is idempotent and only
what another try can fix: no answer, 5xx, 429) and how many times; this module says
*how*: a jittered exponential wait (so replicas that failed together do not retry
together), never shorter than the server's own Retry-After when it sent one (an error
with a `retry_after` attribute), capped so a hostile header cannot park a caller; one
warning per retry; the last failure re-raised as it was, never wrapped.

The outbox does not use it: its retries are rows in the database with a `next_attempt_at`,
paced per channel, not a loop in one process (docs/architecture.md, "Retries").
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar, cast

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_never,
    wait_random_exponential,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

P = ParamSpec("P")
T = TypeVar("T")
# A server's Retry-After is honoured up to this many seconds; a caller is waiting.
MAX_RETRY_AFTER = 30.0


class WaitOrRetryAfter(wait_base):
    """Full-jitter exponential backoff (`backoff` × 2ⁿ, at most `cap`), or the error's
    own `retry_after` when that is longer (at most `MAX_RETRY_AFTER`)."""

    def __init__(self, backoff: float, cap: float) -> None:
        self._jittered = wait_random_exponential(multiplier=backoff, max=cap)

    def __call__(self, retry_state: RetryCallState) -> float:
        delay = self._jittered(retry_state)
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        hint = getattr(failure, "retry_after", None)
        if isinstance(hint, int | float) and hint > 0:
            delay = max(delay, min(float(hint), MAX_RETRY_AFTER))
        return delay


@dataclass(frozen=True)
class Retries:
    """A tenacity policy with a typed call: `await retries(fn, *args)` is what `fn`
    returned on the try that worked, or the last try's exception."""

    policy: AsyncRetrying

    async def __call__(
        self, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        # A fresh copy per call: tenacity keeps per-run statistics on the policy object.
        return cast(T, await self.policy.copy()(fn, *args, **kwargs))


def retrying(
    *,
    retries: int | None,
    when: Callable[[BaseException], bool],
    backoff: float,
    log: logging.Logger,
    cap: float = MAX_RETRY_AFTER,
) -> Retries:
    """A policy to call with the coroutine function and its arguments:
    `await retrying(...)(fn, *args)`. `retries` is how many tries after the first (None:
    until it works); `when` says which failures are worth another try."""
    stop: stop_base = stop_never if retries is None else stop_after_attempt(1 + max(0, retries))
    limit = "" if retries is None else f"/{max(0, retries)}"

    def warn(state: RetryCallState) -> None:
        failure = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s; retry %d%s in %.2f s", failure, state.attempt_number, limit, delay)

    return Retries(
        AsyncRetrying(
            stop=stop,
            wait=WaitOrRetryAfter(backoff, cap),
            retry=retry_if_exception(when),
            before_sleep=warn,
            reraise=True,
        )
    )
