"""`/fleet find` through signed Slack requests: the answer in the channel (count,
breakdown, first matches), the whole list as a CSV shared in its thread through Slack's
external upload, and errors that name the bad term."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace

import httpx

from bot import messages
from bot.fleet import FleetRouter
from bot.fleet import find as fleet_find
from bot.incidents.ingest import ingest
from integrations.fleet.models import Service, ServiceSummary
from integrations.fleet.selector import parse_selector
from tests.actions_support import sim_url
from tests.harness import CHANNEL, BotHarness
from tests.incident_helpers import batch, page, roots, settle


async def _expected(h: BotHarness, selector: str) -> list[dict[str, str]]:
    """The matches, as the simulator lists them unfiltered and this test filters them."""
    wanted = parse_selector(selector)
    async with httpx.AsyncClient() as client:
        items: list[dict[str, str]] = []
        cursor = None
        while True:
            params = {"limit": "1000", **({"cursor": cursor} if cursor else {})}
            answer = (await client.get(sim_url(h) + "/v1/services", params=params)).json()
            items += answer["items"]
            cursor = answer["next_cursor"]
            if not cursor:
                break
    return [i for i in items if wanted.matches(ServiceSummary.model_validate(i))]


def _csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode())))


async def test_find_answers_in_the_channel_and_shares_every_match_as_csv(db_url: str) -> None:
    selector = "engine=postgres version<16.10 health!=down"
    async with BotHarness(db_url) as h:
        expected = await _expected(h, selector)
        assert 10 < len(expected) < 240  # the selector filters, and there is a list to page
        await h.command("dave", f"/fleet find {selector}")  # a read: anyone may
        reply = await h.wait_for_response("dave")
        assert f"{len(expected):,} services match" in reply.text
        upload = await h.wait_for(lambda: next(iter(h.state.files()), None))
        answer = roots(h.state)[-1]
        assert f"*{len(expected):,} services match*" in answer.text
        postgres = f"postgres {len(expected):,}"
        assert postgres in answer.text  # the breakdown by engine
        first = sorted(e["name"] for e in expected)[0]
        assert f"`{first}`" in answer.text  # the first matches, in listing order
        # The file is in the answer's thread, with every match exactly once.
        assert (upload.channel, upload.thread_ts) == (CHANNEL, answer.ts)
        assert upload.content is not None
        rows = _csv_rows(upload.content)
        assert sorted(r["name"] for r in rows) == sorted(e["name"] for e in expected)
        by_name = {e["name"]: e for e in expected}
        for row in rows:
            assert row["version"] == by_name[row["name"]]["version"]
            assert row["health"] == by_name[row["name"]]["health"] != "down"
        methods = [c.method for c in h.state.calls() if c.method.startswith("files.")]
        assert methods == [
            "files.getUploadURLExternal",
            "files.upload",
            "files.completeUploadExternal",
        ]


async def test_a_bad_term_is_named_with_the_reason(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        await h.command("dave", "/fleet find engine=postgres version<sixteen")
        reply = await h.wait_for_response("dave")
        assert "`version&lt;sixteen`" in reply.text
        assert "not a version" in reply.text
        await h.command("dave", "/fleet find colour=blue")
        reply = await h.wait_for_response("dave", count=2)
        assert "`colour=blue`" in reply.text and "unknown field colour" in reply.text
        await h.quiet()
        assert h.state.files() == []
        assert roots(h.state) == []


async def test_incident_term_resolves_through_the_incident_store(db_url: str) -> None:
    async with BotHarness(db_url) as h:
        rt = h.bot.runtime
        await ingest(rt, batch(page("fp-1", service="pg-billing")))
        await settle(rt)
        await h.command("dave", "/fleet find incident=INC-1 engine=postgres")
        reply = await h.wait_for_response("dave")
        assert "1 services match" in reply.text
        upload = await h.wait_for(lambda: next(iter(h.state.files()), None))
        assert upload.content is not None
        assert [r["name"] for r in _csv_rows(upload.content)] == ["pg-billing"]
        await h.command("dave", "/fleet find incident=99")
        missing = await h.wait_for_response("dave", count=2)
        assert "`incident=99`" in missing.text and "no incident #99" in missing.text


class Hostile:
    """A backend that lists what an attacker put in the control plane (a unit seam)."""

    async def list_services(self) -> list[ServiceSummary]:
        return [
            ServiceSummary(
                name="=HYPERLINK(\"http://evil\")", kind="postgres", region="<!channel>",
                health="down", plan="+1", version="-2", tags={"team": "@SUM(A1)", "@k": "a,b"},
            ),
            ServiceSummary(name="pg-plain", kind="postgres", region="eu", health="healthy"),
        ]  # fmt: skip

    async def get_service(self, name: str) -> Service:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


async def test_what_the_fleet_says_is_neutralised_in_the_csv_and_escaped_in_slack() -> None:
    rt = SimpleNamespace(fleet=FleetRouter([("evil", ["*"], Hostile())]))
    found = await fleet_find.find(rt, parse_selector("engine=postgres"))  # type: ignore[arg-type]
    rows = list(csv.reader(io.StringIO(found.csv_text)))
    assert rows[0] == ["name", "engine", "region", "version", "health", "plan", "tags"]
    evil = next(r for r in rows if "HYPERLINK" in r[0])
    assert evil == [
        "'=HYPERLINK(\"http://evil\")", "postgres", "<!channel>", "'-2", "down", "'+1",
        "'@k=a,b;team=@SUM(A1)",
    ]  # fmt: skip
    assert ["pg-plain", "postgres", "eu", "", "healthy", "", ""] in rows
    text = messages.find_answer("engine=postgres", found.count, found.by, found.first, "<@U1>")
    assert "<!channel>" not in text and "&lt;!channel&gt; 1" in text
    assert '`=HYPERLINK("http://evil")`' in text
