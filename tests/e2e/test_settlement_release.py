"""Approval and release of settlements (RULES.md 4, 5.7): finance approves a draft once;
``release-rewards`` credits approved lines on the release day exactly once, resumes after
a crash without paying twice and forfeits the lines of closed accounts; members read their
lines with basis and status (API.md ``GET /v1/me/rewards``)."""

from __future__ import annotations

import pytest

from chalicelib.service_layer import settlement
from chalicelib.service_layer.reconcile import reconcile
from tests.builders import close_account, job_outcome
from tests.faults import FOREVER, SDK_TRIES, install
from tests.settlement_builders import (
    Desk,
    buy,
    fresh,
    join,
    run_item,
    set_guide_tier,
    shanghai,
    stored_lines,
    wallet_fen,
)


def october(client, stack, clock, desk):
    """Three earners in October 2026 (amounts by hand):
    - A (1 star, guide tier 1): groups B 100,000 (largest) and C 50,000 -> small_group 2,500;
      guide_fee 2 % x 150,000 = 3,000
    - D (1 star): groups D1 40,000 (largest) and D2 20,000 -> small_group 1,000
    - Q (1 star): groups Q1 10,000 and Q2 10,000 (a tie) -> small_group 500
    """
    clock.set(shanghai(2026, 10, 10))
    a = join(client, stack)
    b, c = join(client, stack, a), join(client, stack, a)
    d = join(client, stack)
    d1, d2 = join(client, stack, d), join(client, stack, d)
    q = join(client, stack)
    q1, q2 = join(client, stack, q), join(client, stack, q)
    for member in (a, d, q):
        desk.give_points(member, 2_000)
    set_guide_tier(a, 1)
    clock.set(shanghai(2026, 10, 20))
    for member, fen in [(b, 100_000), (c, 50_000), (d1, 40_000), (d2, 20_000), (q1, 10_000), (q2, 10_000)]:
        buy(client, stack, member, fen)
    return a, b, d, q


def rewards(client, stack, member, query=""):
    r = client.get(f"/v1/me/rewards{query}", token=fresh(client, stack, member).access_token)
    assert r.status_code == 200, r.body
    return r.json


def test_only_finance_or_admin_approve_and_only_a_draft(client, stack, clock):
    desk = Desk(client, stack)
    a, _, _, _ = october(client, stack, clock, desk)
    clock.set(shanghai(2026, 11, 8, 1))
    desk.job("settle-monthly", period="2026-10")
    desk.job("settle-quarterly", period="2026-Q3")

    for unknown in ("monthly-2026-09", "quarterly-2026-Q2", "weekly-2026-10", "monthly-2026-13", "nonsense"):
        r = client.post(f"/v1/admin/settlements/{unknown}/approve", token=desk.token("finance"))
        assert (r.status_code, r.json["error"]["code"]) == (404, "not_found"), (unknown, r.body)
    for token in (desk.token("ops"), desk.token("auditor"), fresh(client, stack, a).access_token):
        r = client.post("/v1/admin/settlements/monthly-2026-10/approve", token=token)
        assert r.status_code == 403, r.body
    assert run_item("monthly-2026-10").status == "draft"
    # a draft is never released, even on its release day
    clock.set(shanghai(2026, 11, 10, 3))
    assert desk.job("release-rewards")["credited_fen"] == 0 and wallet_fen(a) == 0

    approved = desk.approve("monthly-2026-10", role="finance")
    assert approved["status"] == "approved" and approved["approved_by"] and approved["approved_at"]
    again = client.post("/v1/admin/settlements/monthly-2026-10/approve", token=desk.token("admin"))
    assert (again.status_code, again.json["error"]["code"]) == (409, "invalid_state"), again.body
    assert desk.approve("quarterly-2026-Q3", role="finance")["status"] == "approved"
    [entry] = desk.audit("monthly-2026-10")
    assert (entry["action"], entry["actor_roles"], entry["before"], entry["after"]) == (
        "settlement.approve",
        ["finance"],
        {"status": "draft"},
        {"status": "approved", "rewards_fen": 7_000},
    )
    # once released, it cannot be approved again either
    assert desk.job("release-rewards")["credited_fen"] == 7_000
    r = client.post("/v1/admin/settlements/monthly-2026-10/approve", token=desk.token("finance"))
    assert r.status_code == 409, r.body
    assert reconcile()["ok"]


def test_release_credits_approved_lines_on_the_release_day_once_and_resumes_after_a_crash(client, stack, clock):
    desk = Desk(client, stack)
    a, b, d, q = october(client, stack, clock, desk)
    clock.set(shanghai(2026, 11, 8, 1))
    assert desk.job("settle-monthly", period="2026-10")["totals"]["rewards_fen"] == 2_500 + 3_000 + 1_000 + 500
    page = rewards(client, stack, a)
    assert {(line["component"], line["amount_fen"], line["status"]) for line in page["rewards"]} == {
        ("small_group", 2_500, "draft"),
        ("guide_fee", 3_000, "draft"),
    }
    desk.approve("monthly-2026-10")
    assert {line["status"] for line in rewards(client, stack, a)["rewards"]} == {"approved"}
    # Q closes the account before the release (nothing in the wallet yet, so it may)
    r = close_account(client, fresh(client, stack, q).access_token, "moving away")
    assert r.status_code == 204, r.body

    # the day before the release day (23:59 in Shanghai) nothing is released
    clock.set(shanghai(2026, 11, 9, 23, 50))
    desk.token("ops")
    desk.token("admin")  # runs the job: a sign-in at 23:59 would move the clock into the release day
    clock.set(shanghai(2026, 11, 9, 23, 59))
    early = desk.job("release-rewards")
    assert (early["settlements"], early["credited_fen"]) == ([], 0)
    assert [wallet_fen(m) for m in (a, d)] == [0, 0]

    # on the 10th a release crashes after D's transaction committed: D is credited ...
    clock.set(shanghai(2026, 11, 10, 3))
    run = settlement.get_run("monthly-2026-10")
    assert settlement._release_member(stack, run, d.member_id)["credited_fen"] == 1_000
    # ... and the re-run credits exactly the rest: A, not D again; Q's lines are forfeited
    preview = desk.job("release-rewards", dry_run=True)
    assert (wallet_fen(a), wallet_fen(d)) == (0, 1_000)
    released = desk.job("release-rewards")
    assert {k: v for k, v in preview.items() if k not in ("dry_run", "duration_ms")} == {
        k: v for k, v in released.items() if k not in ("dry_run", "duration_ms")
    }
    assert released["settlements"] == [{"settlement_id": "monthly-2026-10", "members": 2}]
    assert (released["credited_fen"], released["members_credited"], released["forfeited_members"]) == (5_500, 1, 1)
    assert (wallet_fen(a), wallet_fen(d), wallet_fen(q)) == (5_500, 1_000, 0)
    assert run_item("monthly-2026-10").status == "released"
    lines = {line.member_id: line for line in stored_lines("monthly-2026-10") if line.component == "small_group"}
    assert lines[q.member_id].released_at is not None and int(lines[q.member_id].credited_fen) == 0

    # a second release credits nothing
    again = desk.job("release-rewards")
    assert (again["settlements"], again["credited_fen"]) == ([], 0)
    assert (wallet_fen(a), wallet_fen(d)) == (5_500, 1_000)

    me = client.get("/v1/me", token=fresh(client, stack, a).access_token).json
    assert me["wallet"]["balance_fen"] == 5_500
    ledger = client.get("/v1/me/wallet/ledger", token=fresh(client, stack, a).access_token).json["entries"]
    assert [(e["kind"], e["amount_fen"], e["balance_after_fen"]) for e in ledger] == [("reward", 5_500, 5_500)]
    d_ledger = client.get("/v1/me/wallet/ledger", token=fresh(client, stack, d).access_token).json["entries"]
    assert [(e["kind"], e["amount_fen"]) for e in d_ledger] == [("reward", 1_000)]

    # the statement: newest first, one line a page, each with its basis and status
    first = rewards(client, stack, a, "?limit=1")
    assert len(first["rewards"]) == 1 and first["next_cursor"]
    second = rewards(client, stack, a, f"?limit=1&cursor={first['next_cursor']}")
    assert len(second["rewards"]) == 1 and second["next_cursor"] is None
    by_component = {line["component"]: line for line in first["rewards"] + second["rewards"]}
    assert set(by_component) == {"small_group", "guide_fee"}
    small = by_component["small_group"]
    assert (small["settlement_id"], small["period"], small["status"], small["amount_fen"]) == (
        "monthly-2026-10",
        "2026-10",
        "released",
        2_500,
    )
    assert small["basis"]["largest_group_root"] == b.member_id
    assert small["basis"]["small_groups_volume_fen"] == 50_000 and small["released_at"]
    assert by_component["guide_fee"]["basis"]["rate_bp"] == 200
    # nobody else sees A's lines, not even with A's cursor
    assert rewards(client, stack, b)["rewards"] == []
    r = client.get(f"/v1/me/rewards?limit=1&cursor={first['next_cursor']}", token=fresh(client, stack, b).access_token)
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_cursor"
    r = client.get("/v1/me/rewards", token=desk.token("finance"))
    assert r.status_code == 403
    assert reconcile()["ok"]


def test_the_statement_lists_the_newest_period_first_across_months_and_quarters(client, stack, clock):
    desk = Desk(client, stack)
    clock.set(shanghai(2026, 9, 20))
    a = join(client, stack)
    b = join(client, stack, a)
    desk.give_points(a, 2_000)
    set_guide_tier(a, 1)
    clock.set(shanghai(2026, 9, 25))
    buy(client, stack, b, 1_000_000)
    clock.set(shanghai(2026, 10, 20))
    buy(client, stack, b, 10_000)

    clock.set(shanghai(2026, 11, 8, 1))
    # Q3: L(A) = 1,000,000 (weight 1, alone), T = 1,000,000 -> Q1 pool 3 % = 30,000
    # October: guide fee 2 % x 10,000 = 200 (A has one group: no small-group share)
    assert desk.job("settle-quarterly", period="2026-Q3")["totals"]["rewards_fen"] == 30_000
    assert desk.job("settle-monthly", period="2026-10")["totals"]["rewards_fen"] == 200
    statement = [(line["settlement_id"], line["amount_fen"]) for line in rewards(client, stack, a)["rewards"]]
    assert statement == [("monthly-2026-10", 200), ("quarterly-2026-Q3", 30_000)]
    assert reconcile()["ok"]


@pytest.mark.parametrize(
    ("kind", "times", "refusal"),
    [
        ("in_progress", SDK_TRIES, None),
        ("throttled_cancel", FOREVER, "service_unavailable"),
        ("lost_after", FOREVER, "outcome_unknown"),
    ],
    ids=["transaction in progress after the commit", "throttling that does not stop", "outcome never known"],
)
def test_a_release_interrupted_by_a_fault_on_one_member_and_run_again_credits_every_line_once(
    client, stack, clock, monkeypatch, kind, times, refusal
):
    faults = install(monkeypatch)
    desk = Desk(client, stack)
    a, _, d, _ = october(client, stack, clock, desk)
    clock.set(shanghai(2026, 11, 8, 1))
    desk.job("settle-monthly", period="2026-10")
    desk.approve("monthly-2026-10")
    clock.set(shanghai(2026, 11, 10, 3))
    token = desk.token("admin")
    faults.arm(kind, times=times, contains=a.member_id)
    first = job_outcome(client, token, "release-rewards", {})
    faults.clear()
    assert first.status_code == 202, first.body
    if refusal is None:
        assert first.run["status"] == "succeeded", first.run
    else:
        # the unit failed after the worker's own retries: the run waits, its failure named,
        # and the settlement is not released until every member is
        assert first.run["status"] == "running", first.run
        assert first.run["progress"] == {"done": 0, "total": 1, "planned": True}
        assert first.run["failures"]["units"] == [{"unit": 0, "attempts_failed": 1, "error": refusal}]
        assert run_item("monthly-2026-10").status == "approved"
        resumed = desk.resume_run(first.run["run_id"], "admin")
        assert resumed.run["status"] == "succeeded", resumed.run
        assert resumed.run["progress"] == {"done": 1, "total": 1, "planned": True}
    assert (wallet_fen(a), wallet_fen(d)) == (5_500, 1_000)
    assert run_item("monthly-2026-10").status == "released"
    assert desk.job("release-rewards")["credited_fen"] == 0
    assert (wallet_fen(a), wallet_fen(d)) == (5_500, 1_000)
    assert reconcile()["ok"]
