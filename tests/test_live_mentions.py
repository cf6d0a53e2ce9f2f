"""Live mentions are made in one place: `bot/mentions.py` checks the id whole before it
writes `<@U…>` or `<!subteam^S…>` (docs/security.md). Everywhere else, building one from a
value (`f"<@{user}>"`, `"<@" + user`, `"<@{}>".format(user)`) would let an id from a
payload carry markup, so this reads every module's source with `ast` and finds them.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from pathlib import Path

from bot import messages as m
from bot.oncall.roster import mention

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "commands", "integrations", "standins")
THE_MAKER = ROOT / "bot" / "mentions.py"
OPENERS = ("<@", "<!subteam^")


def built_mentions(source: str, filename: str = "<test>") -> Iterator[int]:
    """Line numbers where a mention's opener is joined to a value."""
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.JoinedStr):
            parts = node.values
            for here, after in itertools.pairwise(parts):
                if (
                    isinstance(here, ast.Constant)
                    and isinstance(here.value, str)
                    and here.value.endswith(OPENERS)
                    and isinstance(after, ast.FormattedValue)
                ):
                    yield node.lineno
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            # A template for `.format`/`%`, or an opener left open for `+`.
            templates = any(f"{o}{{" in text or f"{o}%s" in text for o in OPENERS)
            if templates or text.endswith(OPENERS):
                yield node.lineno


def test_only_bot_mentions_builds_live_mentions() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != THE_MAKER
        for line in built_mentions(path.read_text(), str(path))
    ]
    assert found == [], "use bot.mentions.mention_user / mention_group: " + ", ".join(found)


def test_the_finder_sees_each_way_of_building_one() -> None:
    built = [
        'f"<@{user}> said"',
        'f"by <!subteam^{group}>"',
        '"<@" + user + ">"',
        '"<@{}>".format(user)',
        '"<@%s>" % user',
        "f'{a}, <@{b}>'",
    ]
    for source in built:
        assert list(built_mentions(source)), source
    harmless = [
        '"<@U…> and <!subteam^S…> are Slack\'s forms"',
        'r"<@([UW][A-Z0-9]+)>"',
        'f"{mention_user(user)} said"',
        'f"<#{channel}>"',
    ]
    for source in harmless:
        assert not list(built_mentions(source)), source


# What the rule protects: an id or text from a payload never becomes markup.

FORGED_ID = "U0ALICE01> <!channel"
LOUD = "<!channel> `x` <@U0EVIL000>"


def test_a_forged_user_id_is_shown_as_code_not_as_a_mention() -> None:
    said = [
        m.incident_acknowledged(FORGED_ID, 1),
        m.incident_assigned(FORGED_ID, FORGED_ID),
        m.card_running(FORGED_ID, [FORGED_ID]),
        m.automation_switched(True, FORGED_ID, 3),
        m.silence_line(1, FORGED_ID, "soon", "a=b", None),
        mention(FORGED_ID),
    ]
    for text in said:
        assert "<!channel" not in text and "<@U0ALICE01>" not in text, text
    assert m.incident_acknowledged("UALICE01", 1).startswith(":eyes: <@UALICE01> ")


def test_silence_matchers_and_pagerduty_names_are_shown_as_typed() -> None:
    for text in (
        m.silence_created("UALICE01", "soon", LOUD, LOUD),
        m.silence_line(1, "UALICE01", "soon", LOUD, LOUD),
        mention(LOUD),
    ):
        assert "<!channel>" not in text and "<@U0EVIL000>" not in text, text
        assert "&lt;!channel&gt;" in text
    # A backtick in a matcher cannot close the code span early.
    assert "`x`" not in m.silence_created("UALICE01", "soon", LOUD, None).split("silenced", 1)[1]
