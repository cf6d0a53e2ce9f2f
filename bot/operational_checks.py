"""What `check-config` warns about beyond validity: a configuration that loads but would
fail someone at night. Each warning says what would happen and what to change.

- a route (or the default route) that pages nobody: no mention, no rotation, no PagerDuty;
- a rotation with one member: there is nobody to hand off to;
- a runbook whose action no policy rule allows to a role automation holds: every page it
  takes would be refused;
- an approval that cannot be given: fewer people hold the approving roles than the count
  needs besides the requester (who never approves their own request).
"""

from __future__ import annotations

from bot.actions.policy import ActionRule
from bot.config import Config
from bot.permissions.roles import bindings


def operational_warnings(config: Config) -> list[str]:
    return [
        *_silent_routes(config),
        *_lonely_rotations(config),
        *_refused_runbooks(config),
        *_impossible_approvals(config),
    ]


def _silent_routes(config: Config) -> list[str]:
    routing, pagerduty = config.routing, config.escalation.pagerduty.enabled
    found = [
        f"route {route.name!r} mentions nobody: no `mention`, no `oncall` rotation and no "
        "PagerDuty; its incidents open in the channel and ping no one"
        for route in routing.routes
        if not route.mention
        and route.oncall is None
        and not (pagerduty if route.pagerduty is None else route.pagerduty)
    ]
    if not routing.default_mention and routing.default_oncall is None and not pagerduty:
        found.append(
            "pages no route takes ping no one: set `routing.default_oncall` (a rotation) or "
            "`routing.default_mention`"
        )
    return found


def _lonely_rotations(config: Config) -> list[str]:
    return [
        f"rotation {rotation.name!r} has one member: every handoff is to the same person"
        for rotation in config.oncall.rotations
        if rotation.source == "config" and len(set(rotation.members)) == 1
    ]


def _refused_runbooks(config: Config) -> list[str]:
    automated = {name for name, role in bindings(config).items() if role.automation}
    return [
        f"runbook {runbook.name!r} runs `{runbook.action}`, which no `policies.rules` entry "
        f"allows to an automation role ({', '.join(sorted(automated)) or 'none configured'}); "
        "every page it takes would be refused"
        for runbook in config.runbooks
        if not any(_allows(rule, runbook.action, automated) for rule in config.policies.rules)
    ]


def _allows(rule: ActionRule, action: str, roles: set[str]) -> bool:
    return rule.covers(action) and bool(roles & set(rule.roles))


def _impossible_approvals(config: Config) -> list[str]:
    people = bindings(config)
    found = []
    for index, rule in enumerate(config.policies.rules):
        approval = rule.approval
        if approval is None:
            continue
        roles = approval.roles or rule.roles
        if any(people[role].usergroups for role in roles if role in people):
            continue  # a user group's members are known only once Slack is asked
        approvers = {user for role in roles for user in people.people(role)}
        # The requester may hold an approving role and never approves their own request.
        if len(approvers) - 1 < approval.count:
            found.append(
                f"policies.rules[{index}] ({', '.join(rule.actions)}) needs {approval.count} "
                f"approval(s) from {', '.join(roles)} besides the requester, but those roles "
                f"name {len(approvers)} people: such requests can never be approved"
            )
    return found
