"""Separation of duties over HTTP: what one staff member may not do alone.

Two desks are two different people for every role (the local admin aside): a large
adjustment waits for the second one, a withdrawal is approved and paid by different
people, a settlement is approved by someone who did not start its run, and nobody acts
on a member account registered with their own phone number.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pyotp
import pytest

from tests.builders import (
    change_rules,
    decide_review,
    fresh_ip,
    keyed,
    new_key,
    register,
    scheduled_report,
    staff_login,
    table_items,
)
from tests.integration.test_wallet_concurrency import eager_thread_switches, race
from tests.settlement_builders import shanghai
from tests.wallet_builders import (
    Desk,
    assert_reconciled,
    error_code,
    give_aibi,
    person,
    ready_to_withdraw,
    resident_id,
)

POINTS_LIMIT = 10_000  # ApprovalRules defaults
AIBI_LIMIT = 100_000


@pytest.fixture
def desk(client, stack) -> Desk:
    return Desk(client, stack)


@pytest.fixture
def other(client, stack) -> Desk:
    """Someone else: a different account for each role."""
    return Desk(client, stack)


def request_points(desk, member, points, role="ops", key=None):
    body = {"member_id": member.id, "points": points, "reason": "campaign correction"}
    return desk.post("/v1/admin/adjustments", role, body, headers={"Idempotency-Key": key or new_key("ask")})


def decide(desk, role, approval_id, action, body=None, key=None):
    headers = {"Idempotency-Key": key} if key else None
    return desk.post(f"/v1/admin/approvals/{approval_id}/{action}", role, body or {}, headers=headers)


def audit_of(desk, target_id):
    return desk.get(f"/v1/admin/audit?target_id={target_id}", "admin").json["entries"]


def points_ledger(member):
    return member.get("/v1/me/points/ledger").json["entries"]


def test_a_points_adjustment_over_the_threshold_waits_and_moves_nothing(client, stack, desk, other):
    member = person(client, stack)
    before_points, before_ledger = member.points(), points_ledger(member)

    asked = request_points(desk, member, POINTS_LIMIT + 1)

    assert asked.status_code == 202, asked.body
    assert asked.json == {"approval_id": asked.json["approval_id"], "status": "pending"}
    assert member.points() == before_points and points_ledger(member) == before_ledger
    shown = desk.get(f"/v1/admin/approvals/{asked.json['approval_id']}", "ops").json
    assert (shown["status"], shown["kind"], shown["points"], shown["amount_fen"]) == ("pending", "points", 10_001, None)
    assert shown["requested_by"] == desk.staff_id("ops") and shown["balance_after"] is None


def test_a_debit_over_the_threshold_needs_approval_too(client, stack, desk):
    member = person(client, stack)
    give_aibi(desk, member, 150_000)
    body = {"member_id": member.id, "amount_fen": -100_001, "reason": "r"}
    asked = desk.post("/v1/admin/adjustments", "admin", body, headers=keyed())
    assert asked.status_code == 202, asked.body
    assert member.wallet()["balance_fen"] == 150_000


@pytest.mark.parametrize("points", [70, 30_000], ids=["applied at once", "above the threshold"])
def test_a_correction_without_an_idempotency_key_is_refused_and_changes_nothing(client, stack, desk, points):
    member = person(client, stack)
    desk.token("ops")
    before = table_items(stack)
    body = {"member_id": member.id, "points": points, "reason": "campaign correction"}
    refused = desk.post("/v1/admin/adjustments", "ops", body)
    assert refused.status_code == 400 and error_code(refused) == "idempotency_key_required", refused.body
    assert table_items(stack) == before


def test_the_requester_cannot_approve_their_own_request_and_a_second_person_applies_it(client, stack, desk, other):
    member = person(client, stack)
    approval_id = request_points(desk, member, 12_000).json["approval_id"]

    own = decide(desk, "ops", approval_id, "approve")
    assert own.status_code == 403 and error_code(own) == "four_eyes_required"
    own_reject = decide(desk, "ops", approval_id, "reject", {"reason": "never mind"})
    assert own_reject.status_code == 403 and error_code(own_reject) == "four_eyes_required"
    assert member.points() == 60

    approved = decide(other, "ops", approval_id, "approve", {"reason": "matches the campaign sheet"})

    assert approved.status_code == 200, approved.body
    assert (approved.json["status"], approved.json["balance_after"]) == ("approved", 12_060)
    assert approved.json["decided_by"] == other.staff_id("ops")
    assert member.points() == 12_060
    [entry] = [e for e in points_ledger(member) if e["kind"] == "adjust"]
    assert entry["points"] == 12_000
    again = decide(other, "finance", approval_id, "approve")
    assert again.status_code == 409 and error_code(again) == "already_approved"
    late_reject = decide(other, "finance", approval_id, "reject", {"reason": "late"})
    assert late_reject.status_code == 409 and error_code(late_reject) == "already_approved"
    assert member.points() == 12_060
    assert_reconciled()


def test_every_step_is_audited_with_before_after_and_no_personal_data(client, stack, desk, other):
    member = person(client, stack)
    approval_id = request_points(desk, member, 20_000).json["approval_id"]
    decide(other, "finance", approval_id, "approve", {"reason": "checked"})

    steps = {e["action"]: e for e in audit_of(desk, approval_id)}
    assert set(steps) == {"approval.request", "approval.approve"}
    request, approve = steps["approval.request"], steps["approval.approve"]
    assert (request["actor_id"], request["before"], request["after"]["status"]) == (
        desk.staff_id("ops"),
        {"status": None},
        "pending",
    )
    assert (request["after"]["member_id"], request["after"]["amount"]) == (member.id, 20_000)
    assert (approve["actor_id"], approve["reason"]) == (other.staff_id("finance"), "checked")
    assert (approve["before"], approve["after"]["status"], approve["after"]["balance_after"]) == (
        {"status": "pending"},
        "approved",
        20_060,
    )
    [applied] = [e for e in audit_of(desk, member.id) if e["action"] == "adjustment"]
    assert applied["actor_id"] == other.staff_id("finance")
    assert (applied["before"], applied["after"]["balance"], applied["after"]["ref"]) == (
        {"balance": 60},
        20_060,
        approval_id,
    )
    phone_digits = member.member.phone.removeprefix("+86")
    assert phone_digits not in str(steps) and phone_digits not in str(applied)


def test_aibi_is_approved_by_finance_or_admin_only(client, stack, desk, other):
    member = person(client, stack)
    body = {"member_id": member.id, "amount_fen": 200_000, "reason": "r"}
    asked = desk.post("/v1/admin/adjustments", "finance", body, headers=keyed())
    assert asked.status_code == 202, asked.body
    approval_id = asked.json["approval_id"]
    for role in ("ops", "auditor"):
        refused = decide(other, role, approval_id, "approve")
        assert refused.status_code == 403, (role, refused.body)
    assert member.wallet()["balance_fen"] == 0
    approved = decide(other, "finance", approval_id, "approve")
    assert approved.status_code == 200 and approved.json["balance_after"] == 200_000
    assert member.wallet() == {"balance_fen": 200_000, "held_fen": 0}
    assert_reconciled()


def test_a_rejected_request_moves_nothing_and_cannot_then_be_approved(client, stack, desk, other):
    member = person(client, stack)
    approval_id = request_points(desk, member, 50_000).json["approval_id"]
    no_reason = decide(other, "ops", approval_id, "reject")
    assert no_reason.status_code == 400
    rejected = decide(other, "ops", approval_id, "reject", {"reason": "not in the campaign"})
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected", rejected.body
    assert rejected.json["decision_reason"] == "not in the campaign"
    approved = decide(other, "finance", approval_id, "approve")
    assert approved.status_code == 409 and error_code(approved) == "already_rejected"
    assert member.points() == 60
    assert [e["action"] for e in audit_of(desk, approval_id)].count("approval.reject") == 1


def test_only_the_requester_cancels_and_a_cancelled_request_stays_cancelled(client, stack, desk, other):
    member = person(client, stack)
    approval_id = request_points(desk, member, 50_000).json["approval_id"]
    not_theirs = decide(other, "ops", approval_id, "cancel")
    assert not_theirs.status_code == 403 and error_code(not_theirs) == "not_requester"
    cancelled = decide(desk, "ops", approval_id, "cancel", {"reason": "typo in the amount"})
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    approved = decide(other, "ops", approval_id, "approve")
    assert approved.status_code == 409 and error_code(approved) == "already_cancelled"
    assert member.points() == 60
    assert "approval.cancel" in [e["action"] for e in audit_of(desk, approval_id)]


def test_a_request_nobody_approved_in_72_hours_expires_and_changes_nothing(client, stack, clock, desk, other):
    member = person(client, stack)
    approval_id = request_points(desk, member, 50_000).json["approval_id"]
    deadline = datetime.fromisoformat(desk.get(f"/v1/admin/approvals/{approval_id}", "ops").json["expires_at"])
    assert deadline == clock.now() + timedelta(hours=72)
    clock.set(deadline - timedelta(minutes=10))
    desk.sign_in("ops")
    other.sign_in("ops")
    clock.set(deadline - timedelta(seconds=1))
    assert desk.get(f"/v1/admin/approvals/{approval_id}", "ops").json["status"] == "pending"
    clock.set(deadline)
    assert desk.get(f"/v1/admin/approvals/{approval_id}", "ops").json["status"] == "expired"
    for role, action, body in (("ops", "approve", {}), ("ops", "reject", {"reason": "x"})):
        late = decide(other, role, approval_id, action, body)
        assert late.status_code == 409 and error_code(late) == "approval_expired", late.body
    late_cancel = decide(desk, "ops", approval_id, "cancel")
    assert late_cancel.status_code == 409 and error_code(late_cancel) == "approval_expired"
    assert "adjust" not in [e["kind"] for e in points_ledger(member)]
    pending = desk.get("/v1/admin/approvals?status=pending", "ops").json["approvals"]
    expired = desk.get("/v1/admin/approvals?status=expired", "ops").json["approvals"]
    assert approval_id not in [a["approval_id"] for a in pending]
    assert [a["approval_id"] for a in expired] == [approval_id]


def test_small_corrections_add_up_to_the_days_threshold_then_need_approval(client, stack, clock, desk, other):
    member = person(client, stack)
    for _ in range(2):
        applied = request_points(desk, member, 4_000)
        assert applied.status_code == 201, applied.body
    debit = request_points(desk, member, -2_000)  # debits count: 10,000 used
    assert debit.status_code == 201, debit.body
    over = request_points(desk, member, 1)
    assert over.status_code == 202, over.body
    # another person has their own allowance; the next day (Asia/Shanghai) starts again
    assert request_points(other, member, 1).status_code == 201
    clock.set(shanghai(2026, 11, 24, 0, 1))
    assert request_points(desk, member, 4_000).status_code == 201
    assert member.points() == 60 + 4_000 + 4_000 - 2_000 + 1 + 10 + 4_000  # 10: the new day's first session
    assert_reconciled()


def test_a_red_packet_to_listed_members_counts_against_the_granters_allowance(client, stack, desk):
    member = person(client, stack)
    audience = {"kind": "list", "member_ids": [member.id]}
    body = {"campaign_id": "c-1", "points": 6_000, "audience": audience, "reason": "r"}
    assert desk.post("/v1/admin/red-packets", "ops", body).json["granted"] == 1
    again = desk.post("/v1/admin/red-packets", "ops", {**body, "campaign_id": "c-2"})
    assert again.status_code == 403 and error_code(again) == "four_eyes_required"
    assert member.points() == 6_060
    over = request_points(desk, member, 4_001)  # the same allowance: 6,000 already granted today
    assert over.status_code == 202


def test_a_request_the_account_cannot_take_is_refused_at_request_and_at_approval(client, stack, desk, other):
    member = person(client, stack)
    beyond = request_points(desk, member, -(POINTS_LIMIT + 1))
    assert beyond.status_code == 422 and error_code(beyond) == "insufficient_points"
    assert desk.get("/v1/admin/approvals", "ops").json["approvals"] == []
    give_aibi(desk, member, 60_000)
    give_aibi(other, member, 90_000)
    large = {"member_id": member.id, "amount_fen": -150_000, "reason": "r"}
    asked = desk.post("/v1/admin/adjustments", "admin", large, headers=keyed())
    assert asked.status_code == 202
    small = {"member_id": member.id, "amount_fen": -1, "reason": "r"}
    spent = other.post("/v1/admin/adjustments", "finance", small, headers=keyed())
    assert spent.status_code == 201
    refused = decide(other, "finance", asked.json["approval_id"], "approve")
    assert refused.status_code == 422 and error_code(refused) == "insufficient_balance"
    assert desk.get(f"/v1/admin/approvals/{asked.json['approval_id']}", "ops").json["status"] == "pending"
    assert member.wallet()["balance_fen"] == 149_999
    assert_reconciled()


def test_two_approvers_racing_apply_the_request_once(client, stack, desk):
    member = person(client, stack)
    approvers = [Desk(client, stack) for _ in range(4)]
    tokens = [a.token("ops") for a in approvers]
    approval_id = request_points(desk, member, 30_000).json["approval_id"]

    def approve(token):
        return lambda: client.post(f"/v1/admin/approvals/{approval_id}/approve", token=token, json_body={})

    with eager_thread_switches():
        answers = race([approve(token) for token in tokens])

    codes = Counter(r.status_code if r.status_code == 200 else error_code(r) for r in answers)
    assert codes == {200: 1, "already_approved": 3}
    assert member.points() == 30_060
    assert [e["kind"] for e in points_ledger(member)].count("adjust") == 1
    assert_reconciled()


def test_simultaneous_small_corrections_by_one_person_cannot_pass_the_allowance_together(client, stack, desk):
    member = person(client, stack)
    token = desk.token("ops")
    body = {"member_id": member.id, "points": 6_000, "reason": "split"}

    def correct():
        return client.post("/v1/admin/adjustments", token=token, json_body=body, headers=keyed())

    with eager_thread_switches():
        answers = race([correct, correct])

    assert sorted(r.status_code for r in answers) == [201, 202]
    assert member.points() == 6_060
    assert_reconciled()


def test_retries_with_the_same_key_return_the_first_outcome(client, stack, desk, other):
    member = person(client, stack)
    first = request_points(desk, member, 30_000, key="ask-000001")
    retry = request_points(desk, member, 30_000, key="ask-000001")
    assert first.status_code == retry.status_code == 202 and first.json == retry.json
    listed = desk.get("/v1/admin/approvals?status=pending", "ops").json["approvals"]
    assert [a["approval_id"] for a in listed] == [first.json["approval_id"]]
    approval_id = first.json["approval_id"]

    approved = decide(other, "ops", approval_id, "approve", key="approve-000001")
    replay = decide(other, "ops", approval_id, "approve", key="approve-000001")
    assert approved.status_code == replay.status_code == 200 and approved.json == replay.json
    reused = decide(other, "ops", approval_id, "reject", {"reason": "x"}, key="approve-000001")
    assert reused.status_code == 422 and error_code(reused) == "idempotency_key_reused"
    assert member.points() == 30_060
    assert [e["action"] for e in audit_of(desk, approval_id)].count("approval.approve") == 1


def test_the_queues_list_each_status_newest_first_in_pages(client, stack, clock, desk, other):
    member = person(client, stack)
    ids = []
    for _ in range(3):
        ids.append(request_points(desk, member, 20_000).json["approval_id"])
        clock.advance(seconds=1)
    decide(other, "ops", ids[0], "approve")
    page = desk.get("/v1/admin/approvals?status=pending&limit=1", "ops").json
    assert [a["approval_id"] for a in page["approvals"]] == [ids[2]] and page["next_cursor"]
    rest = desk.get(f"/v1/admin/approvals?status=pending&limit=1&cursor={page['next_cursor']}", "ops").json
    assert [a["approval_id"] for a in rest["approvals"]] == [ids[1]]
    approved = desk.get("/v1/admin/approvals?status=approved", "finance").json["approvals"]
    assert [(a["approval_id"], a["status"]) for a in approved] == [(ids[0], "approved")]
    bad = desk.get("/v1/admin/approvals?status=paid", "ops")
    assert bad.status_code == 400
    unknown = desk.get("/v1/admin/approvals/01JUNKNOWN00000000000000000", "ops")
    assert unknown.status_code == 404 and error_code(unknown) == "not_found"


# --- withdrawals -----------------------------------------------------------------------------------------
def test_a_withdrawal_is_approved_and_paid_by_different_people(client, stack, desk, other):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 30_000)
    wid = member.post("/v1/me/withdrawals", {"amount_fen": 20_000}).json["withdrawal_id"]
    assert desk.post(f"/v1/admin/withdrawals/{wid}/approve", "finance", {"reason": "ok"}).status_code == 200
    before = table_items(stack)

    same = desk.post(f"/v1/admin/withdrawals/{wid}/paid", "finance", {"reference": "BANK-1"})

    assert same.status_code == 403 and error_code(same) == "four_eyes_required"
    assert table_items(stack) == before
    paid = other.post(f"/v1/admin/withdrawals/{wid}/paid", "finance", {"reference": "BANK-1"})
    assert paid.status_code == 200 and paid.json["status"] == "paid", paid.body
    steps = {e["action"]: e["actor_id"] for e in audit_of(desk, wid)}
    assert steps["withdrawal.approve"] == desk.staff_id("finance")
    assert steps["withdrawal.paid"] == other.staff_id("finance")
    assert_reconciled()


def test_the_approver_may_still_reject_which_returns_the_money(client, stack, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 30_000)
    wid = member.post("/v1/me/withdrawals", {"amount_fen": 20_000}).json["withdrawal_id"]
    assert desk.post(f"/v1/admin/withdrawals/{wid}/approve", "finance", {"reason": "ok"}).status_code == 200
    rejected = desk.post(f"/v1/admin/withdrawals/{wid}/reject", "finance", {"reason": "bank refused"})
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert member.wallet() == {"balance_fen": 30_000, "held_fen": 0}


# --- one's own member account ----------------------------------------------------------------------------
def staff_with_the_phone_of(client, stack, member_phone, role):
    """A staff account signed in with the same phone number as a member account."""
    admin = Desk(client, stack).token("admin")
    created = client.post("/v1/admin/staff", token=admin, json_body={"phone": member_phone, "roles": [role]})
    assert created.status_code == 201, created.body
    secret = pyotp.parse_uri(created.json["totp_uri"]).secret
    stack.clock.advance(seconds=31)
    fresh_ip(client)
    return staff_login(client, stack, member_phone, secret)


def test_staff_cannot_adjust_or_pay_out_their_own_member_account(client, stack, desk):
    member = person(client, stack)
    ready_to_withdraw(desk, member, 30_000)
    wid = member.post("/v1/me/withdrawals", {"amount_fen": 20_000}).json["withdrawal_id"]
    mine = staff_with_the_phone_of(client, stack, member.member.phone, "finance")
    before = table_items(stack)

    credit = client.post(
        "/v1/admin/adjustments",
        token=mine,
        json_body={"member_id": member.id, "amount_fen": 100, "reason": "r"},
        headers=keyed(),
    )
    approve = client.post(f"/v1/admin/withdrawals/{wid}/approve", token=mine, json_body={"reason": "ok"})

    assert credit.status_code == 403 and error_code(credit) == "own_account"
    assert approve.status_code == 403 and error_code(approve) == "own_account"
    assert table_items(stack) == before
    stranger = register(client, stack)
    other_credit = client.post(
        "/v1/admin/adjustments",
        token=mine,
        json_body={"member_id": stranger.member_id, "amount_fen": 100, "reason": "r"},
        headers=keyed(),
    )
    assert other_credit.status_code == 201


def test_ops_cannot_approve_the_real_name_verification_of_their_own_member_account(client, stack, desk):
    member = person(client, stack)
    assert member.post("/v1/me/kyc", {"real_name": "张三", "id_number": resident_id()}).status_code == 202
    mine = staff_with_the_phone_of(client, stack, member.member.phone, "ops")
    refused = decide_review(client, mine, "kyc", member.id)
    assert refused.status_code == 403 and error_code(refused) == "own_account"
    assert decide_review(client, desk.token("ops"), "kyc", member.id).status_code == 200


def test_an_approver_cannot_approve_a_change_to_their_own_member_account(client, stack, desk):
    member = person(client, stack)
    approval_id = request_points(desk, member, 50_000).json["approval_id"]
    mine = staff_with_the_phone_of(client, stack, member.member.phone, "ops")
    refused = client.post(f"/v1/admin/approvals/{approval_id}/approve", token=mine, json_body={})
    assert refused.status_code == 403 and error_code(refused) == "own_account"
    assert member.points() == 60


# --- settlements -------------------------------------------------------------------------------------------
def settle_october(desk, role):
    r = desk.run_job("settle-monthly", role, {"period": "2026-10"})
    assert r.status_code == 202 and r.json["status"] == "draft", r.body
    return r.json


def test_whoever_started_a_settlement_run_cannot_approve_it(client, stack, clock, desk, other):
    clock.set(shanghai(2026, 11, 8, 1))
    settle_october(desk, "finance")
    shown = desk.get("/v1/admin/settlements/monthly-2026-10", "finance").json
    assert shown["started_by"] == [desk.staff_id("finance")]

    own = desk.post("/v1/admin/settlements/monthly-2026-10/approve", "finance")

    assert own.status_code == 403 and error_code(own) == "four_eyes_required"
    assert desk.get("/v1/admin/settlements/monthly-2026-10", "finance").json["status"] == "draft"
    approved = other.post("/v1/admin/settlements/monthly-2026-10/approve", "finance")
    assert approved.status_code == 200 and approved.json["approved_by"] == other.staff_id("finance")
    assert [e["actor_id"] for e in audit_of(desk, "monthly-2026-10")] == [other.staff_id("finance")]


def test_a_scheduled_run_is_started_by_the_schedule_and_approved_by_finance(client, stack, clock, desk):
    from chalice.test import Client as LambdaClient

    from app import app

    clock.set(shanghai(2026, 11, 8, 1))
    with LambdaClient(app) as lambdas:
        run = scheduled_report(lambdas, "settle-monthly", {"period": "2026-10"})
    assert run["status"] == "draft"
    assert desk.get("/v1/admin/settlements/monthly-2026-10", "finance").json["started_by"] == ["schedule"]
    assert desk.post("/v1/admin/settlements/monthly-2026-10/approve", "finance").status_code == 200


def test_auto_approval_in_the_rules_approves_the_run_and_says_so(client, stack, clock, desk):
    change_rules(stack, settlement={"auto_approve": True})
    clock.set(shanghai(2026, 11, 8, 1))
    r = desk.run_job("settle-monthly", "ops", {"period": "2026-10"})
    assert r.status_code == 202 and r.json["status"] == "approved", r.body
    shown = desk.get("/v1/admin/settlements/monthly-2026-10", "finance").json
    assert (shown["status"], shown["approved_by"]) == ("approved", "auto-approval")
    assert shown["approved_at"] is not None


def test_staff_cannot_change_their_own_roles(client, stack, desk):
    admin = desk.staff_id("admin")
    body = {"roles": ["admin", "finance"], "reason": "r"}
    r = desk.client.put(f"/v1/admin/staff/{admin}/roles", token=desk.token("admin"), json_body=body)
    assert r.status_code == 403, r.body


