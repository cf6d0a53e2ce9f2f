"""Shared pieces of the property tests that fuzz the HTTP endpoints: hypothesis settings,
one bot per module on its own event loop, and strategies for hostile JSON, bytes and
headers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.intake_helpers import IntakeApp

T = TypeVar("T")
SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
Body = bytes | AsyncIterator[bytes] | None


@dataclass
class Rig:
    loop: asyncio.AbstractEventLoop
    app: IntakeApp

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Body = None,
        headers: dict[str, Any] | None = None,
        params: list[tuple[str, str]] | None = None,
    ) -> httpx.Response:
        return self.run(
            self.app.http.request(method, path, content=body, headers=headers, params=params)
        )

    def post(self, path: str, body: Body, headers: dict[str, Any]) -> httpx.Response:
        return self.request("POST", path, body=body, headers=headers)


@contextmanager
def rig_running(context: AbstractAsyncContextManager[IntakeApp]) -> Iterator[Rig]:
    """One bot for a whole module, on its own loop: hypothesis runs hundreds of examples
    and each must reach the same app without paying for a new one."""
    loop = asyncio.new_event_loop()
    app = loop.run_until_complete(context.__aenter__())
    try:
        yield Rig(loop, app)
    finally:
        loop.run_until_complete(context.__aexit__(None, None, None))
        loop.close()


# -- strategies --------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)
# What h11 (the client) lets through: visible bytes, obs-text, inner spaces and tabs.
header_text = (
    st.binary(max_size=200)
    .filter(lambda b: all(c == 9 or 32 <= c != 127 for c in b))
    .map(lambda b: b.strip(b" \t"))
)


def hostile_headers(*names: str) -> st.SearchStrategy[dict[str, bytes]]:
    """Up to five of the headers `names`, each with any value an HTTP client can send."""
    return st.dictionaries(st.sampled_from(names), header_text, max_size=5)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _set(doc: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    if not path:
        return value
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> bytes:
    """`base` as JSON with one to three values replaced or removed, then perhaps truncated,
    with stray bytes inserted, or with a NUL character in a string."""
    doc = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(_paths(doc)))
        delete = bool(path) and draw(st.booleans())
        doc = _set(doc, path, draw(json_values), delete)
    body = json.dumps(doc).encode()
    byte_edit = draw(st.sampled_from(["none", "none", "truncate", "insert", "nul"]))
    if byte_edit == "truncate":
        body = body[: draw(st.integers(min_value=0, max_value=len(body)))]
    elif byte_edit == "insert":
        at = draw(st.integers(min_value=0, max_value=len(body)))
        body = body[:at] + draw(st.binary(min_size=1, max_size=8)) + body[at:]
    elif byte_edit == "nul":
        body = body.replace(b'"', b'"\\u0000', 1)
    return body
