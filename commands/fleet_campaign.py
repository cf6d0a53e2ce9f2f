"""`/fleet campaign <action> <selector> [rate controls] [-- reason]`, `/fleet campaign
list|status|pause|resume|abort <id>`, and the campaign card's buttons.

Parsing only: the words whose key is a rate control (`concurrency=`, `max_errors=`,
`waves=`, `bake=`) are the rate controls, every other word is the selector. What runs is
decided in `bot.campaigns`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot import messages as m
from bot.actions.guard_chain import Person
from bot.campaigns import card, service, steer
from bot.campaigns.plan import campaign_actions
from bot.campaigns.rate import RATE_KEYS, RateError, parse_rate_controls
from bot.interactions import Click, InteractionRegistry
from bot.outbox import Message
from bot.parts import AppParts
from bot.permissions.verbs import VerbChoice
from bot.registry import CommandError, CommandRegistry, Invocation
from bot.runtime import Runtime
from integrations.fleet.selector import SelectorError, parse_selector

CONTROL_WORDS = ("pause", "resume", "abort")
VERBS = VerbChoice(
    {
        "list": "campaign.list",
        "status": "campaign.status",
        "pause": "campaign.pause",
        "resume": "campaign.resume",
        "abort": "campaign.abort",
    },
    default="campaign.start",
)


def split_words(words: list[str]) -> tuple[list[str], dict[str, str]]:
    """(selector words, rate controls); a rate control given twice is an error."""
    selector: list[str] = []
    rate: dict[str, str] = {}
    for word in words:
        key, eq, value = word.partition("=")
        if eq and key.lower() in RATE_KEYS:
            if key.lower() in rate:
                raise RateError(f"`{key}=` is given twice")
            rate[key.lower()] = value
        else:
            selector.append(word)
    return selector, rate


async def _plan(inv: Invocation, rt: Runtime) -> Message:
    command = rt.command_name("fleet")
    action = inv.args[0].lower()
    if action not in campaign_actions():
        raise CommandError(m.campaign_unknown_action(action, campaign_actions()))
    cfg = rt.config.campaigns
    try:
        words, rate_words = split_words(inv.args[1:])
        rate = parse_rate_controls(rate_words, defaults=cfg.defaults.rate(), caps=cfg.caps())
    except RateError as exc:
        raise CommandError(m.campaign_bad_rate(str(exc))) from None
    if not words:
        raise CommandError(m.usage(command, m.CAMPAIGN_USAGE))
    try:
        selector = parse_selector(" ".join(words))
        return await service.plan(
            rt,
            service.Draft(
                action=action,
                selector=selector,
                rate=rate,
                owner=Person(inv.user_id, inv.caller.user_name),
                channel_id=inv.channel_id,
                reason=inv.reason,
            ),
        )
    except SelectorError as exc:
        raise CommandError(m.bad_selector(command, exc)) from None


async def campaign(inv: Invocation, rt: Runtime) -> Message:
    command = rt.command_name("fleet")
    if not rt.config.campaigns.enabled:
        return Message(text=m.CAMPAIGNS_DISABLED)
    if not inv.args:
        raise CommandError(m.usage(command, m.CAMPAIGN_USAGE))
    word = inv.args[0].lower()
    if word == "list":
        if len(inv.args) != 1:
            raise CommandError(m.usage(command, "campaign list"))
        return await service.listing(rt)
    if word in ("status", *CONTROL_WORDS):
        if len(inv.args) != 2:
            raise CommandError(m.usage(command, f"campaign {word} <id>"))
        campaign_id = inv.args[1]
        if word == "status":
            return await service.status(rt, campaign_id)
        return await steer.steer(rt, campaign_id, Person(inv.user_id, inv.caller.user_name), word)
    return await _plan(inv, rt)


def register(registry: CommandRegistry[Runtime]) -> None:
    registry.add(
        "fleet",
        "campaign",
        usage=m.CAMPAIGN_USAGE,
        summary="one action over every service a selector names, in guarded waves with "
        "two-person approval; list, status, pause, resume, abort",
        verb=VERBS,
    )(campaign)


ClickRun = Callable[[Runtime, str, Person], Awaitable[Message]]


def _on(run: ClickRun) -> Callable[[Click, Runtime], Awaitable[Message | None]]:
    async def on_click(click: Click, rt: Runtime) -> Message | None:
        campaign_id = click.value or click.action_id.partition(":")[2]
        return await run(rt, campaign_id, Person(click.user_id, click.user_name))

    return on_click


def _decide(decision: str) -> ClickRun:
    async def run(rt: Runtime, campaign_id: str, person: Person) -> Message:
        return await service.decide(rt, campaign_id, person, decision)

    return run


def _steer(verb: str) -> ClickRun:
    async def run(rt: Runtime, campaign_id: str, person: Person) -> Message:
        return await steer.steer(rt, campaign_id, person, verb)

    return run


def register_buttons(interactions: InteractionRegistry[Runtime]) -> None:
    # The card is a surface of the one permission step: each button has its verb, and
    # bot.campaigns then checks the campaign's own roles (campaigns: in app.yaml).
    prefix = card.BUTTON_PREFIX
    interactions.on(prefix["approve"], verb="campaign.decide")(_on(_decide("approve")))
    interactions.on(prefix["deny"], verb="campaign.decide")(_on(_decide("deny")))
    for verb in CONTROL_WORDS:
        interactions.on(prefix[verb], verb=f"campaign.{verb}")(_on(_steer(verb)))


def install(parts: AppParts) -> None:
    register(parts.commands)
    register_buttons(parts.buttons)
