"""Page text is data: a page carrying Slack markup (`<!channel>`, mentions, links) is shown
as typed in the incident root, its replies, the storm root and digest and the on-call
handoff, and pings no one; only the bot's own mention of on-call stays live."""

from __future__ import annotations

from datetime import timedelta

from bot.incidents.ingest import ingest
from bot.incidents.install import open_incidents_section, sweep_storms
from bot.mentions import code, escape, mention, mention_group, mention_user
from bot.oncall.handoff_posting import post_handoff
from integrations.pages import Page
from tests.harness import BotHarness
from tests.incident_helpers import Clock, batch, page, recorded, settle
from tests.markup_checks import assert_no_outside_markup, sent_text

HOSTILE = (
    "<!channel>",
    "<!here>",
    "<@U123>",
    "<#C123>",
    "<!subteam^S1>",
    "<http://evil|docs>",
    "&amp;",
)
ALL = " ".join(HOSTILE)
ROTATION = {
    "name": "db",
    "channel": "C0ONCALL1",
    "members": ["UALICE01", "UBOB0002"],
    "timezone": "UTC",
    "handoffs": ["09:00"],
    "start": "2026-01-01",
}


def hostile(n: int) -> Page:
    base = page(f"fp-{n}", service=f"pg-{n}", region=f"eu {ALL}", instance=f"i {ALL}")
    return base.model_copy(update={"title": f"replica down {ALL}", "summary": f"lag {ALL}"})


async def test_hostile_page_text_is_shown_and_pings_no_one(db_url: str) -> None:
    clock = Clock()
    async with BotHarness(
        db_url, clock=clock, storms={"threshold": 3}, oncall={"rotations": [ROTATION]}
    ) as h:
        rt = h.bot.runtime
        # The first incident opens with a thread of its own: root and a reply.
        await ingest(rt, batch(hostile(0)))
        await ingest(rt, batch(hostile(0).model_copy(update={"dedup_key": "fp-0b"})))
        await settle(rt)
        await recorded(rt, "incident:1")
        # Enough more to make a storm of the region, then more to make a digest.
        await ingest(rt, batch(*(hostile(n) for n in range(1, 4))))
        await recorded(rt, "storm:1")
        await ingest(rt, batch(*(hostile(n) for n in range(4, 8))))
        clock.advance(seconds=rt.config.storms.digest_seconds + 1)
        await sweep_storms(rt)
        async with rt.sessions() as session:
            handoff = await open_incidents_section(session, clock.now)
        assert handoff is not None and not any("<!" in line for line in handoff[1])
        await post_handoff(rt, h.config.oncall.rotations[0], clock.now + timedelta(days=1))
        await settle(rt)
        await h.wait_for(lambda: h.state.messages("C0ONCALL1"))
        await h.eventually(lambda: _digest_posted(h), within=10.0)
        calls = h.state.calls()
        assert_no_outside_markup(calls, HOSTILE)
        text = sent_text(calls)
        assert "replica down &lt;!channel&gt;" in text  # shown as typed
        assert "&amp;amp;" in text  # an entity from outside is shown, not decoded
        assert "<@UALICE01>" in text  # the route's on-call mention is live


async def _digest_posted(h: BotHarness) -> bool | None:
    return any("more incident" in m.text for m in h.state.messages("C0DEMO001")) or None


def test_mentions_are_made_only_from_whole_ids() -> None:
    assert mention_user("UALICE01") == "<@UALICE01>"
    assert mention_group("S0DBA") == "<!subteam^S0DBA>"
    assert mention("S0DBA") == "<!subteam^S0DBA>"
    # An id with anything more is shown as code, never as a mention.
    assert mention_user("U1>\n<!channel") == "`U1&gt;\n&lt;!channel`"
    assert mention_group("S1> <!here") == "`S1&gt; &lt;!here`"
    assert mention_user("UALICE01\n") == "`UALICE01\n`"


def test_escape_and_code() -> None:
    assert escape("a <!here> & <@U1>") == "a &lt;!here&gt; &amp; &lt;@U1&gt;"
    assert code("x` <!channel> `y") == "`xˋ &lt;!channel&gt; ˋy`"
