"""The pieces, one by one: catalog, policy shape, each guard, the chain, plan digests and
the post-check. No app, no network: guards read `Facts`, so a test builds them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from bot.actions import guards as g
from bot.actions.action_blocks import Preview
from bot.actions.catalog import (
    CATALOG,
    InvalidRequest,
    check_target,
    params_hash,
    validate_params,
)
from bot.actions.guard_chain import (
    ApprovalView,
    Facts,
    GuardContext,
    LockView,
    Person,
    RequestView,
    Verdict,
    evaluate,
)
from bot.actions.policy import FreezeWindow, PoliciesConfig, crontab
from bot.actions.port import plan_digest
from bot.actions.postcheck import passed, post_check
from bot.roles import RoleBinding
from integrations.fleet.models import Change, Member, Plan, Service

NOW = datetime(2026, 3, 6, 17, 30, tzinfo=UTC)  # a Friday
ALICE, BOB, DAVE, ERIN = (
    Person("UALICE01", "alice"),
    Person("UBOB0002"),
    Person("UDAVE004"),
    Person("UERIN005"),
)
ROLES = {
    "responder": RoleBinding(users=[ALICE.id, BOB.id, DAVE.id]),
    "oncall": RoleBinding(users=[BOB.id]),
}
RULES: dict[str, Any] = {
    "rules": [
        {
            "actions": ["switchover", "failover"],
            "resources": ["pg-*"],
            "roles": ["responder"],
            "approval": {"count": 1, "expires_minutes": 15},
        },
        {"actions": ["restart", "reinit", "resume"], "roles": ["responder"]},
    ],
    "break_glass_roles": ["responder"],
}


def policy(**more: Any) -> PoliciesConfig:
    return PoliciesConfig.model_validate({**RULES, **more})


def request(action: str = "restart", target: str = "pg-orders", **kw: Any) -> RequestView:
    params = kw.pop("params", {})
    return RequestView(
        id="r1",
        action=action,
        target=target,
        params=params,
        params_hash=params_hash(action, target, params),
        requester=kw.pop("requester", ALICE),
        **kw,
    )


def ctx(
    req: RequestView | None = None,
    *,
    stage: str = "submit",
    clicker: Person | None = None,
    pol: PoliciesConfig | None = None,
    **facts: Any,
) -> GuardContext:
    return GuardContext(
        stage,
        req or request(),
        pol or policy(),
        ROLES,
        Facts(now=NOW, **facts),
        clicker,  # type: ignore[arg-type]
    )


def service(*members: tuple[str, str, bool]) -> Service:
    return Service(
        name="pg-orders",
        kind="postgres",
        plan="p",
        region="r",
        health="healthy",
        members=[Member(name=n, role=r, state="running", healthy=h) for n, r, h in members],  # type: ignore[arg-type]
    )


def plan(**kw: Any) -> Plan:
    base: dict[str, Any] = {
        "action": "switchover",
        "target": "pg-orders",
        "allowed": True,
        "risk": "medium",
        "steps": ["promote pg-orders-2"],
        "estimated_seconds": 3.0,
        "changes": [
            Change(member="pg-orders-2", attribute="role", before="replica", after="primary")
        ],
    }
    return Plan(**{**base, **kw})


# -- the catalog --------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["", "  ", "*", "pg-*", "pg-[ab]", "all", "a b", "-x"])
def test_a_target_is_exactly_one_named_service(target: str) -> None:
    with pytest.raises(InvalidRequest):
        check_target(target)
    assert check_target("pg-orders") == "pg-orders"


def test_parameters_are_typed_and_checked_against_the_catalog() -> None:
    maintenance = CATALOG["maintenance"]
    with pytest.raises(InvalidRequest, match="needs at"):
        validate_params(maintenance, {"mode": "schedule"})
    with pytest.raises(InvalidRequest, match="UTC offset"):
        validate_params(maintenance, {"mode": "schedule", "at": "2026-01-01T03:00"})
    typed = validate_params(maintenance, {"mode": "schedule", "at": "2026-01-01T03:00Z"})
    assert typed == {"at": "2026-01-01T03:00:00+00:00", "mode": "schedule"}
    assert (
        maintenance.risk_for(typed) == "low" and maintenance.risk_for({"mode": "run"}) == "medium"
    )
    with pytest.raises(InvalidRequest, match="not `colour`"):
        validate_params(CATALOG["restart"], {"colour": "red"})
    with pytest.raises(InvalidRequest, match="not a member name"):
        validate_params(CATALOG["restart"], {"member": "*"})


def test_the_params_hash_binds_action_target_and_every_parameter() -> None:
    one = params_hash("switchover", "pg-orders", {"candidate": "pg-orders-2"})
    assert one != params_hash("switchover", "pg-orders", {"candidate": "pg-orders-3"})
    assert one != params_hash("switchover", "pg-billing", {"candidate": "pg-orders-2"})
    assert one != params_hash("failover", "pg-orders", {"candidate": "pg-orders-2"})
    assert one == params_hash("switchover", "pg-orders", {"candidate": "pg-orders-2"})


# -- the policy -------------------------------------------------------------------------


def test_the_first_matching_rule_decides_and_none_means_refused() -> None:
    pol = policy()
    assert pol.rule_for("switchover", "pg-orders")[0] == 0  # type: ignore[index]
    assert pol.rule_for("switchover", "redis-x") is None  # the first rule is pg-only
    assert pol.rule_for("restart", "anything")[0] == 1  # type: ignore[index]
    assert PoliciesConfig().rule_for("restart", "pg-orders") is None


def test_policy_shape_errors_are_reported() -> None:
    with pytest.raises(ValidationError, match="unknown action"):
        PoliciesConfig.model_validate({"rules": [{"actions": ["reboot"], "roles": ["x"]}]})
    with pytest.raises(ValidationError, match="either start and end"):
        FreezeWindow(name="x", cron="* * * * *")
    with pytest.raises(ValidationError, match="UTC offset"):
        FreezeWindow(name="x", start=datetime(2026, 1, 1), end=datetime(2026, 1, 2))
    with pytest.raises(ValidationError, match="after its start"):
        FreezeWindow(name="x", start=NOW, end=NOW)
    with pytest.raises(ValidationError, match="cron"):
        FreezeWindow(name="x", cron="61 * * * *", duration_minutes=5)


def test_cron_day_numbers_mean_what_cron_means() -> None:
    assert crontab("0 17 * * 5") == "0 17 * * fri"
    assert crontab("0 17 * * 1-5") == "0 17 * * mon-fri"
    assert crontab("0 0 * * 0,7") == "0 0 * * sun,sun"
    friday_evening = FreezeWindow(name="weekend", cron="0 17 * * 5", duration_minutes=60 * 63)
    assert friday_evening.active_at(NOW)  # Friday 17:30
    assert friday_evening.active_at(NOW + timedelta(days=2))  # Sunday
    assert not friday_evening.active_at(NOW - timedelta(hours=1))  # Friday 16:30
    assert not friday_evening.active_at(NOW + timedelta(days=3))  # Monday


# -- the chain --------------------------------------------------------------------------


class Raises:
    name = "raises"

    def check(self, ctx: GuardContext) -> Verdict:
        raise KeyError("boom")


class Counts:
    name = "counts"
    calls = 0

    def check(self, ctx: GuardContext) -> Verdict:
        Counts.calls += 1
        return Verdict("allow")


def test_the_first_deny_ends_the_chain_and_a_raising_guard_denies() -> None:
    result = evaluate([Raises(), Counts()], ctx())
    assert result.outcome == "denied" and Counts.calls == 0
    assert result.denial is not None and result.denial.guard == "raises"
    assert "check failed" in result.reason()
    assert result.decisions[0].as_audit() == ["raises", "deny", result.reason()]


def test_confirmation_comes_before_approval_and_approval_before_running() -> None:
    switchover = request("switchover")
    pair = service(("pg-orders-1", "primary", True), ("pg-orders-2", "replica", True))
    first = evaluate(g.POST_PLAN, ctx(switchover, plan=plan(), service=pair))
    assert first.outcome == "needs_confirmation" and first.needs == {"confirmation", "approval"}
    later = evaluate(g.POST_PLAN, ctx(switchover, stage="confirm", plan=plan(), service=pair))
    assert later.outcome == "needs_approval"
    approved = ApprovalView(BOB.id, "approve", switchover.params_hash, NOW)
    done = evaluate(
        g.POST_PLAN,
        ctx(switchover, stage="approve", clicker=BOB, plan=plan(), approvals=[approved]),
    )
    assert done.outcome == "allowed"


# -- the guards, one by one ---------------------------------------------------------------


def check(guard: Any, c: GuardContext) -> Verdict:
    verdict: Verdict = guard.check(c)
    return verdict


def test_permission_and_break_glass() -> None:
    assert check(g.Permission(), ctx()).kind == "allow"
    assert check(g.Permission(), ctx(request(requester=ERIN))).kind == "deny"
    glass = request(break_glass=True)
    assert "needs a reason" in check(g.Permission(), ctx(glass)).reason
    assert check(g.Permission(), ctx(request(break_glass=True, reason="hung"))).kind == "allow"
    no_glass = policy(break_glass_roles=["oncall"])
    assert (
        check(g.Permission(), ctx(request(break_glass=True, reason="x"), pol=no_glass)).kind
        == "deny"
    )


def test_on_call_freeze_and_break_glass_skips_only_the_freeze() -> None:
    oncall = policy(
        rules=[{"actions": ["restart"], "roles": ["responder"], "require_oncall": True}]
    )
    assert check(g.OnCall(), ctx(pol=oncall)).kind == "deny"
    assert check(g.OnCall(), ctx(request(requester=BOB), pol=oncall)).kind == "allow"
    frozen = policy(
        freeze=[
            {
                "name": "f",
                "start": NOW - timedelta(hours=1),
                "end": NOW + timedelta(hours=1),
                "resources": ["pg-*"],
            }
        ]
    )
    assert check(g.Freeze(), ctx(pol=frozen)).kind == "deny"
    assert check(g.Freeze(), ctx(request(target="redis-x"), pol=frozen)).kind == "allow"
    glass = request(break_glass=True, reason="x")
    assert check(g.Freeze(), ctx(glass, pol=frozen)).kind == "allow"


def test_rate_limits_count_recent_executions_per_service_and_per_action() -> None:
    limits = policy(
        rate_limits=[
            {"per": "service", "limit": 2, "window_minutes": 10},
            {"per": "action", "actions": ["restart"], "limit": 3, "window_minutes": 60},
        ]
    )
    old = NOW - timedelta(minutes=30)
    recent = [("restart", "pg-orders", NOW), ("reinit", "pg-orders", NOW), ("restart", "pg-x", old)]
    assert "per service" in check(g.RateLimits(), ctx(pol=limits, recent=recent)).reason
    recent = [("restart", "a", old), ("restart", "b", old), ("restart", "c", NOW)]
    assert "per action" in check(g.RateLimits(), ctx(pol=limits, recent=recent)).reason
    assert check(g.RateLimits(), ctx(pol=limits, recent=recent[:2])).kind == "allow"


def test_the_lock_the_cap_and_the_capacity_floor() -> None:
    theirs = LockView(
        "pg-orders",
        "r2",
        BOB.id,
        "bob",
        "reinit",
        NOW - timedelta(minutes=3),
        NOW + timedelta(minutes=27),
    )
    said = check(g.ResourceLockFree(), ctx(lock=theirs)).reason
    assert "locked by <@UBOB0002>" in said and "since 2026-03-06 17:27 UTC" in said
    lapsed = LockView("pg-orders", "r2", BOB.id, "bob", "reinit", NOW - timedelta(hours=1), NOW)
    assert check(g.ResourceLockFree(), ctx(lock=lapsed)).kind == "allow"
    ours = LockView("pg-orders", "r1", ALICE.id, "alice", "restart", NOW, NOW + timedelta(hours=1))
    assert check(g.ResourceLockFree(), ctx(lock=ours)).kind == "allow"
    assert check(g.ConcurrencyCap(), ctx(running=3)).kind == "deny"
    assert check(g.ConcurrencyCap(), ctx(running=2)).kind == "allow"
    two_of_three = service(
        ("pg-orders-1", "primary", True),
        ("pg-orders-2", "replica", True),
        ("pg-orders-3", "replica", False),
    )
    floor = policy(min_healthy_members=2)
    assert check(g.CapacityFloor(), ctx(pol=floor, service=two_of_three)).kind == "deny"
    rebuild_broken = request("reinit", params={"member": "pg-orders-3"})
    assert (
        check(g.CapacityFloor(), ctx(rebuild_broken, pol=floor, service=two_of_three)).kind
        == "allow"
    )


def test_the_approval_guard_counts_only_valid_approvals() -> None:
    req = request("switchover", expires_at=NOW + timedelta(minutes=5))
    h = req.params_hash

    def verdict(*approvals: ApprovalView, at: datetime = NOW) -> Verdict:
        c = ctx(req, stage="approve", plan=plan(), approvals=list(approvals))
        c.facts.now = at
        return check(g.Approval(), c)

    assert verdict().kind == "needs"
    assert verdict(ApprovalView(ALICE.id, "approve", h, NOW)).kind == "needs"  # own
    assert verdict(ApprovalView(ERIN.id, "approve", h, NOW)).kind == "needs"  # no role
    assert verdict(ApprovalView(BOB.id, "approve", "other-params", NOW)).kind == "needs"
    assert verdict(ApprovalView(BOB.id, "approve", h, NOW)).kind == "allow"
    veto = ApprovalView(DAVE.id, "deny", h, NOW)
    assert verdict(ApprovalView(BOB.id, "approve", h, NOW), veto).kind == "deny"
    late = verdict(ApprovalView(BOB.id, "approve", h, NOW), at=NOW + timedelta(minutes=6))
    assert "expired" in late.reason


def test_the_approver_guard_refuses_the_requester_and_strangers() -> None:
    req = request("switchover")
    assert "own request" in check(g.Approver(), ctx(req, stage="approve", clicker=ALICE)).reason
    assert "needs the role" in check(g.Approver(), ctx(req, stage="approve", clicker=ERIN)).reason
    assert check(g.Approver(), ctx(req, stage="approve", clicker=BOB)).kind == "allow"


def test_edited_parameters_and_a_changed_plan_are_refused() -> None:
    edited = RequestView(
        id="r1",
        action="restart",
        target="pg-orders",
        params={"member": "pg-orders-3"},
        params_hash=params_hash("restart", "pg-orders", {"member": "pg-orders-2"}),
        requester=ALICE,
    )
    assert "parameters changed" in check(g.ValidRequest(), ctx(edited)).reason
    seen = request("switchover", plan_digest=plan_digest(plan()))
    other = plan(
        changes=[Change(member="pg-orders-3", attribute="role", before="replica", after="primary")]
    )
    assert check(g.PlanUnchanged(), ctx(seen, stage="confirm", plan=plan())).kind == "allow"
    assert check(g.PlanUnchanged(), ctx(seen, stage="confirm", plan=other)).kind == "deny"


def test_risk_overrides_never_go_below_the_fleets_plan() -> None:
    low = policy(rules=[{"actions": ["restart"], "roles": ["responder"], "risk": "low"}])
    assert ctx(pol=low).risk == "low"
    assert ctx(pol=low, plan=plan(action="restart", risk="high")).risk == "high"


def test_the_plan_digest_ignores_moving_numbers() -> None:
    a = plan(warnings=["lag 10 bytes"], estimated_seconds=3.0)
    b = plan(
        warnings=["lag 99 bytes"],
        estimated_seconds=3.4,
        changes=[Change(member="pg-orders-2", attribute="role", before="x", after="primary")],
    )
    assert plan_digest(a) == plan_digest(b)
    assert plan_digest(a) != plan_digest(plan(steps=["promote pg-orders-3"]))


def test_the_post_check_reads_the_plans_promises() -> None:
    preview = Preview(plan())
    done = service(("pg-orders-1", "replica", True), ("pg-orders-2", "primary", True))
    checks = post_check(preview, done, floor=1)
    assert passed(checks) and ("`pg-orders-2` is primary", True) in checks
    not_done = service(("pg-orders-1", "primary", True), ("pg-orders-2", "replica", True))
    assert not passed(post_check(preview, not_done, floor=1))
    assert not passed(post_check(None, done, floor=3))
