"""The points ledger over HTTP: every earning rule of RULES.md 3.1 with its limit, signed
events (API.md "Signed events"), pending points and refunds (3.2), the points jobs and
the member's statement.

The clock starts on 2026-11-23 at 10:00 in Asia/Shanghai (02:00 UTC), a November: a
registration earns 50 (register) + 10 (the day's first session) = 60, in the lot that
expires at the end of November 2027. Every test ends with the reconciliation of
RULES.md 6.2 over the whole table.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.builders import (
    admin_token,
    assert_points_reconcile,
    change_rules,
    decide_review,
    keyed,
    ledger_of,
    login,
    me,
    new_phone,
    next_admin_token,
    order_paid,
    order_refunded,
    points_of,
    post_event,
    refreshed,
    register,
    run_job,
    scheduled_report,
    signed_headers,
)

WELCOME = 60  # register 50 + daily login 10


@pytest.fixture(autouse=True)
def reconciled(stack):
    """Every scenario must leave balances equal to their entries (RULES.md 6.2)."""
    yield
    assert_points_reconcile(stack)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def rules_of(entries: list[dict]) -> list[tuple[str, str | None, int, int]]:
    """``(kind, rule, points, pending)`` oldest first, for comparing statements."""
    return [(e["kind"], e["rule"], e["points"], e["pending"]) for e in reversed(entries)]


def approve_nutritionist(client, stack, member, admin: str) -> None:
    submitted = client.post(
        "/v1/me/nutritionist",
        token=refreshed(client, member).access_token,
        json_body={"certificate_no": "NC-2026-001", "issuer": "CNS", "issued_on": "2025-06-01"},
    )
    assert submitted.status_code == 202, submitted.body
    approved = decide_review(client, admin, "nutritionists", member.member_id)
    assert approved.status_code == 200, approved.body


# --- identity's earning rules ---------------------------------------------------------------------------------
def test_registration_earns_50_and_the_days_first_session_10_once(client, stack):
    member = register(client, stack)

    assert points_of(client, member) == {
        "available": WELCOME,
        "pending": 0,
        "held": 0,
        "lifetime": WELCOME,
        "debt": 0,
        "expiring": [{"on": "2027-11-30", "points": WELCOME}],
        "aibi_value_fen": 0,  # below one exchange unit of 100 points
        "next_star": {"stars": 1, "lifetime_needed": 2_000, "points_needed": 2_000 - WELCOME},
    }
    stack.clock.advance(seconds=61)
    login(client, stack, member.phone)  # a second session the same day earns nothing
    assert points_of(client, member)["available"] == WELCOME
    assert sorted(rules_of(ledger_of(client, member))) == [("earn", "daily_login", 10, 0), ("earn", "register", 50, 0)]


def test_daily_login_counts_once_per_calendar_day_in_shanghai_which_starts_at_16_utc(client, stack):
    member = register(client, stack)  # 2026-11-23 10:00 Shanghai

    stack.clock.set(at("2026-11-23T15:58:50+00:00"))  # 23:58:50 on the 23rd in Shanghai
    login(client, stack, member.phone)
    assert points_of(client, member)["available"] == WELCOME

    stack.clock.set(at("2026-11-23T16:00:00+00:00"))  # 00:00 on the 24th in Shanghai
    login(client, stack, member.phone)
    assert points_of(client, member)["available"] == WELCOME + 10

    stack.clock.set(at("2026-11-24T15:59:59+00:00"))  # still the 24th in Shanghai
    login(client, stack, member.phone)
    assert points_of(client, member)["available"] == WELCOME + 10


def test_profile_complete_earns_100_the_first_time_only(client, stack):
    member = register(client, stack)
    token = member.access_token

    def patch(body: dict) -> dict:
        response = client.patch("/v1/me", token=token, json_body=body)
        assert response.status_code == 200, response.body
        return response.json

    assert patch({"name": "王芳", "birthday": "1990-05-01"})["points"]["available"] == WELCOME  # no region yet
    assert patch({"region": "310000"})["points"]["available"] == WELCOME + 100
    # incomplete again, then complete again: still once
    assert patch({"region": ""})["profile"]["complete"] is False
    assert patch({"region": "110000"})["points"]["available"] == WELCOME + 100
    assert patch({"name": "王芳芳"})["points"]["lifetime"] == WELCOME + 100


def test_referral_sign_up_pays_50_to_the_referrer_by_code_late_binding_or_invitation(client, stack):
    referrer = register(client, stack)

    register(client, stack, referrer_code=referrer.member_code)  # by code at registration
    assert points_of(client, referrer)["available"] == WELCOME + 50

    late = register(client, stack)  # later, by typing the code
    bound = client.post("/v1/me/referrer", token=late.access_token, json_body={"code": referrer.member_code})
    assert bound.status_code == 200, bound.body
    assert points_of(client, referrer)["available"] == WELCOME + 100

    # registered on the friend's behalf: nothing until the friend proves the number
    friend_phone = new_phone()
    invited = client.post(
        "/v1/me/referrals", token=refreshed(client, referrer).access_token, json_body={"phone": friend_phone}
    )
    assert invited.status_code == 201, invited.body
    assert points_of(client, referrer)["available"] == WELCOME + 100
    friend = register(client, stack, phone=friend_phone)
    assert points_of(client, referrer)["available"] == WELCOME + 150
    assert points_of(client, friend)["available"] == WELCOME

    referral_entries = [e for e in ledger_of(client, referrer) if e["rule"] == "referral_sign_up"]
    assert [e["points"] for e in referral_entries] == [50, 50, 50]


def test_nutritionist_certified_earns_450_once_and_a_first_contribution_500_once(client, stack):
    admin = admin_token(client, stack)
    lecturer = register(client, stack)
    guide = register(client, stack)
    client_member = register(client, stack)

    approve_nutritionist(client, stack, lecturer, admin)
    again = decide_review(client, admin, "nutritionists", lecturer.member_id, reason="x")
    _assert_error(again, 409, "invalid_state")
    assert points_of(client, lecturer)["available"] == WELCOME + 450

    # the first public lecture earns 500; later lectures and guidance earn nothing more
    assert post_event(client, stack, "lecture.given", lecturer.member_id, {"lecture_id": "L-1"}).status_code == 202
    assert post_event(client, stack, "lecture.given", lecturer.member_id, {"lecture_id": "L-2"}).status_code == 202
    committed = post_event(
        client, stack, "guidance.committed", lecturer.member_id, {"client_member_id": client_member.member_id}
    )
    assert committed.status_code == 202, committed.body
    assert points_of(client, lecturer)["available"] == WELCOME + 450 + 500

    # another nutritionist whose first contribution is a month of guidance
    approve_nutritionist(client, stack, guide, admin)
    committed = post_event(
        client, stack, "guidance.committed", guide.member_id, {"client_member_id": client_member.member_id}
    )
    assert committed.status_code == 202, committed.body
    assert post_event(client, stack, "lecture.given", guide.member_id, {"lecture_id": "L-9"}).status_code == 202
    assert points_of(client, guide)["available"] == WELCOME + 450 + 500
    assert [e["rule"] for e in ledger_of(client, guide)][:2] == ["nutritionist_contribution", "nutritionist_certified"]

    # only a certified nutritionist gives lectures
    refused = post_event(client, stack, "lecture.given", client_member.member_id, {"lecture_id": "L-3"})
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "not_a_nutritionist"
    assert points_of(client, client_member)["available"] == WELCOME


# --- signed events' earning rules ---------------------------------------------------------------------------------
def test_purchase_earns_one_pending_point_per_whole_yuan_paid(client, stack):
    member = register(client, stack)

    response = order_paid(client, stack, member.member_id, "o-1", paid_fen=12_399, gross_fen=15_000)
    assert response.status_code == 202, response.body
    assert response.json == {"status": "accepted"}
    assert order_paid(client, stack, member.member_id, "o-2", paid_fen=99).status_code == 202  # under a yuan

    points = points_of(client, member)
    # 123.99 yuan -> 123 points, pending for the return window; lifetime only counts them once released
    assert (points["available"], points["pending"], points["lifetime"]) == (WELCOME, 123, WELCOME)
    newest = ledger_of(client, member)[0]
    assert (newest["kind"], newest["rule"], newest["points"], newest["pending"], newest["ref"]) == (
        "earn",
        "purchase",
        0,
        123,
        "o-1",
    )

    again = order_paid(client, stack, member.member_id, "o-1", paid_fen=12_399, gross_fen=15_000)
    assert again.status_code == 409  # another event reporting the same order
    assert again.json["error"]["code"] == "order_exists"


def test_purchase_points_double_in_the_birth_month_of_the_member_or_a_baby(client, stack):
    mother = register(client, stack)
    patched = client.patch("/v1/me", token=mother.access_token, json_body={"birthday": "1990-11-05"})
    assert patched.status_code == 200, patched.body
    baby_month = register(client, stack, separate=("babies",))
    patched = client.patch(
        "/v1/me",
        token=baby_month.access_token,
        json_body={"birthday": "1990-05-01", "babies": [{"birthday": "2024-03-01"}, {"birthday": "2025-11-02"}]},
    )
    assert patched.status_code == 200, patched.body
    other = register(client, stack)
    patched = client.patch("/v1/me", token=other.access_token, json_body={"birthday": "1990-05-01"})
    assert patched.status_code == 200, patched.body

    for member in (mother, baby_month, other):
        assert order_paid(client, stack, member.member_id, f"bd-{member.member_id}", paid_fen=10_000).status_code == 202
    assert points_of(client, mother)["pending"] == 200
    assert points_of(client, baby_month)["pending"] == 200
    assert points_of(client, other)["pending"] == 100

    # occurred_at decides the month: 23:59 on 30 November in Shanghai is still November,
    # 00:01 on 1 December is not
    stack.clock.set(at("2026-11-30T16:01:00+00:00"))
    late_november = order_paid(
        client, stack, mother.member_id, "bd-nov", paid_fen=10_000, occurred_at="2026-11-30T23:59:00+08:00"
    )
    december = order_paid(client, stack, mother.member_id, "bd-dec", paid_fen=10_000)
    assert (late_november.status_code, december.status_code) == (202, 202)
    assert points_of(client, mother)["pending"] == 200 + 200 + 100


def test_challenge_wins_count_at_most_three_a_day_by_occurred_at(client, stack):
    member = register(client, stack)
    for _ in range(5):
        assert post_event(client, stack, "challenge.won", member.member_id).status_code == 202
    assert points_of(client, member)["available"] == WELCOME + 3 * 12

    # a win reported late for yesterday counts for yesterday's cap
    yesterday = (stack.clock.now() - timedelta(days=1)).isoformat()
    assert post_event(client, stack, "challenge.won", member.member_id, occurred_at=yesterday).status_code == 202
    assert points_of(client, member)["available"] == WELCOME + 4 * 12


def test_the_daily_challenge_cap_is_configurable_up_to_five(client, stack):
    change_rules(stack, earning={"challenge_wins_per_day": 5})
    member = register(client, stack)
    for _ in range(7):
        assert post_event(client, stack, "challenge.won", member.member_id).status_code == 202
    assert points_of(client, member)["available"] == WELCOME + 5 * 12


def test_content_earns_two_points_up_to_twenty_a_day(client, stack):
    member = register(client, stack)
    kinds = ["review", "post", "reply"]
    for number in range(12):
        response = post_event(client, stack, "content.posted", member.member_id, {"kind": kinds[number % 3]})
        assert response.status_code == 202, response.body
    assert points_of(client, member)["available"] == WELCOME + 20
    assert sum(e["points"] for e in ledger_of(client, member) if e["rule"] == "content") == 20

    stack.clock.advance(days=1)
    assert post_event(client, stack, "content.posted", member.member_id, {"kind": "post"}).status_code == 202
    assert points_of(client, member)["available"] == WELCOME + 22


def test_event_check_in_earns_200_once_per_event_and_a_survey_50_once_per_survey(client, stack):
    member = register(client, stack)
    sends = [
        ("event.checked_in", {"event_id": "salon-1"}),
        ("event.checked_in", {"event_id": "salon-1"}),  # another event id, the same salon
        ("event.checked_in", {"event_id": "carnival-7"}),
        ("survey.completed", {"survey_id": "s-1"}),
        ("survey.completed", {"survey_id": "s-1"}),
        ("survey.completed", {"survey_id": "s-2"}),
    ]
    for type_, data in sends:
        assert post_event(client, stack, type_, member.member_id, data).status_code == 202
    assert points_of(client, member)["available"] == WELCOME + 2 * 200 + 2 * 50


def test_referral_first_purchase_pays_two_points_per_yuan_of_gross_to_the_direct_referrer_once(client, stack):
    grandparent = register(client, stack)
    referrer = register(client, stack, referrer_code=grandparent.member_code)
    buyer = register(client, stack, referrer_code=referrer.member_code)
    referrer_before = points_of(client, referrer)["available"]  # welcome + sign-up of the buyer
    assert referrer_before == WELCOME + 50

    # an order paid entirely with points is not a paid order
    assert order_paid(client, stack, buyer.member_id, "r-0", paid_fen=0, gross_fen=5_000).status_code == 202
    assert points_of(client, referrer)["pending"] == 0
    # the first paid order: 250 yuan gross, 200 yuan paid -> 500 for the referrer, 200 for the buyer
    assert order_paid(client, stack, buyer.member_id, "r-1", paid_fen=20_000, gross_fen=25_050).status_code == 202
    assert order_paid(client, stack, buyer.member_id, "r-2", paid_fen=10_000).status_code == 202
    assert points_of(client, referrer)["pending"] == 500
    assert points_of(client, buyer)["pending"] == 200 + 100
    assert points_of(client, grandparent)["pending"] == 0  # only the direct referrer

    entry = ledger_of(client, referrer)[0]
    assert (entry["rule"], entry["pending"], entry["ref"]) == ("referral_first_purchase", 500, "r-1")


def test_a_frozen_member_earns_nothing_but_the_order_is_still_recorded(client, stack):
    admin = admin_token(client, stack)
    member = register(client, stack)
    frozen = client.post(f"/v1/admin/members/{member.member_id}/freeze", token=admin, json_body={"reason": "check"})
    assert frozen.status_code == 200, frozen.body

    sends = [
        ("order.paid", {"order_id": "f-1", "gross_fen": 10_000, "paid_fen": 10_000}),
        ("challenge.won", {}),
        ("content.posted", {"kind": "post"}),
        ("survey.completed", {"survey_id": "s-f"}),
        ("event.checked_in", {"event_id": "e-f"}),
    ]
    for type_, data in sends:
        assert post_event(client, stack, type_, member.member_id, data).status_code == 202
    stack.clock.advance(days=1)
    login(client, stack, member.phone)  # no daily login points while frozen
    points = points_of(client, member)
    assert (points["available"], points["pending"], points["lifetime"]) == (WELCOME, 0, WELCOME)

    # the order exists: a second report of it conflicts, and a refund of it is accepted
    duplicate = order_paid(client, stack, member.member_id, "f-1", paid_fen=10_000)
    assert duplicate.status_code == 409
    assert order_refunded(client, stack, member.member_id, "f-1", 10_000).status_code == 202

    admin = next_admin_token(client, stack)
    thawed = client.post(f"/v1/admin/members/{member.member_id}/unfreeze", token=admin, json_body={"reason": "ok"})
    assert thawed.status_code == 200, thawed.body
    # the limits were not used up while frozen
    for type_, data in sends[1:]:
        assert post_event(client, stack, type_, member.member_id, data).status_code == 202
    assert points_of(client, member)["available"] == WELCOME + 12 + 2 + 50 + 200


# --- signatures and validation ------------------------------------------------------------------------------------
def _signed_headers(stack, body: bytes, *, key: str | None = None, secret: str | None = None, skew_s: int = 0):
    timestamp = int(stack.wall_clock.now().timestamp()) + skew_s
    return signed_headers(stack, "POST", "/v1/events", body, key_id=key, secret=secret, timestamp=timestamp)


def _assert_error(response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.body
    error = response.json["error"]
    assert set(error) >= {"code", "message"} and isinstance(error["message"], str) and error["message"]
    if code:
        assert error["code"] == code


def test_unsigned_forged_stale_and_unknown_key_events_are_401_and_change_nothing(client, stack):
    member = register(client, stack)
    body = json.dumps(
        {
            "event_id": "sig-1",
            "type": "challenge.won",
            "member_id": member.member_id,
            "occurred_at": stack.clock.now().isoformat(),
            "data": {},
        }
    ).encode()
    bad = [
        _signed_headers(stack, body, secret="not-the-secret"),
        _signed_headers(stack, body, key="unknown-shop", secret=stack.settings.local_integration_secret),
        _signed_headers(stack, body, skew_s=-301),
        _signed_headers(stack, body, skew_s=301),
        {"content-type": "application/json"},
        {**_signed_headers(stack, body), "x-signature": "zz" * 32},
    ]
    for headers in bad:
        _assert_error(client.post("/v1/events", body=body, headers=headers), 401, "invalid_signature")
    tampered = body.replace(b"challenge.won", b"challenge.won ")
    _assert_error(client.post("/v1/events", body=tampered, headers=_signed_headers(stack, body)), 401)
    assert points_of(client, member)["available"] == WELCOME

    # 300 s either way is still inside the window
    for skew in (-300, 300):
        response = client.post("/v1/events", body=body, headers=_signed_headers(stack, body, skew_s=skew))
        assert response.status_code == 202, response.body
    assert points_of(client, member)["available"] == WELCOME + 12


def test_a_duplicate_event_id_is_answered_duplicate_and_changes_nothing(client, stack):
    member = register(client, stack)
    occurred = stack.clock.now().isoformat()
    data = {"order_id": "d-1", "gross_fen": 10_000, "paid_fen": 10_000}
    first = post_event(client, stack, "order.paid", member.member_id, data, event_id="dup-1", occurred_at=occurred)
    assert first.json == {"status": "accepted"}
    before_points, before_ledger = points_of(client, member), ledger_of(client, member)

    stack.clock.advance(minutes=3)  # a retry a little later: new timestamp, same event
    again = post_event(client, stack, "order.paid", member.member_id, data, event_id="dup-1", occurred_at=occurred)
    assert (again.status_code, again.json) == (202, {"status": "duplicate"})
    assert points_of(client, member) == before_points
    assert ledger_of(client, member) == before_ledger

    # the same id for another event is a conflict, not a replay
    other = post_event(
        client,
        stack,
        "order.paid",
        member.member_id,
        {**data, "paid_fen": 20_000},
        event_id="dup-1",
        occurred_at=occurred,
    )
    _assert_error(other, 409, "event_id_reused")
    assert points_of(client, member) == before_points


def test_occurred_at_is_at_most_30_days_back_and_5_minutes_ahead(client, stack):
    member = register(client, stack)
    now = stack.clock.now()
    for offset in (timedelta(days=-31), timedelta(days=-30, seconds=-1), timedelta(minutes=6), timedelta(seconds=301)):
        response = post_event(client, stack, "challenge.won", member.member_id, occurred_at=(now + offset).isoformat())
        _assert_error(response, 422, "occurred_at_out_of_range")
    assert points_of(client, member)["available"] == WELCOME

    for offset in (timedelta(days=-30), timedelta(minutes=5)):
        response = post_event(client, stack, "challenge.won", member.member_id, occurred_at=(now + offset).isoformat())
        assert response.status_code == 202, response.body
    assert points_of(client, member)["available"] == WELCOME + 24


def test_malformed_events_are_400_and_an_unknown_member_422(client, stack):
    member = register(client, stack)
    valid = {
        "event_id": "m-1",
        "type": "order.paid",
        "member_id": member.member_id,
        "occurred_at": stack.clock.now().isoformat(),
        "data": {"order_id": "m-o", "gross_fen": 100, "paid_fen": 100},
    }
    malformed = [
        b"not json",
        b"[]",
        json.dumps({k: v for k, v in valid.items() if k != "data"}).encode(),
        json.dumps({**valid, "type": "order.shipped"}).encode(),
        json.dumps({**valid, "extra": 1}).encode(),
        json.dumps({**valid, "data": {**valid["data"], "paid_fen": "100"}}).encode(),
        json.dumps({**valid, "data": {**valid["data"], "paid_fen": -1}}).encode(),
        json.dumps({**valid, "data": {**valid["data"], "coupon": "x"}}).encode(),
        json.dumps({**valid, "occurred_at": "2026-11-23T02:00:00"}).encode(),  # no offset
        json.dumps({**valid, "event_id": "has space"}).encode(),
        json.dumps({**valid, "type": "order.refunded", "data": {"order_id": "m-o", "refund_fen": 0}}).encode(),
        json.dumps({**valid, "type": "content.posted", "data": {"kind": "like"}}).encode(),
    ]
    for body in malformed:
        _assert_error(client.post("/v1/events", body=body, headers=_signed_headers(stack, body)), 400)

    unknown = json.dumps({**valid, "member_id": "01JNOSUCHMEMBER"}).encode()
    _assert_error(
        client.post("/v1/events", body=unknown, headers=_signed_headers(stack, unknown)), 422, "unknown_member"
    )
    points = points_of(client, member)
    assert (points["available"], points["pending"]) == (WELCOME, 0)

    # the valid body still goes through: nothing above used up its event id
    body = json.dumps(valid).encode()
    assert client.post("/v1/events", body=body, headers=_signed_headers(stack, body)).status_code == 202


# --- pending points and refunds -------------------------------------------------------------------------------------
def test_purchase_points_stay_pending_for_seven_days_then_the_job_releases_them(client, stack):
    member = register(client, stack)
    admin = admin_token(client, stack)
    assert order_paid(client, stack, member.member_id, "p-1", paid_fen=10_000).status_code == 202  # 2026-11-23

    not_yet = run_job(client, admin, "release-pending", as_of="2026-11-29")
    assert not_yet.status_code == 202, not_yet.body
    assert (not_yet.json["due"], not_yet.json["released"]) == (0, 0)

    dry = run_job(client, admin, "release-pending", as_of="2026-11-30", dry_run=True)
    assert dry.status_code == 202, dry.body
    assert (dry.json["dry_run"], dry.json["due"], dry.json["points_due"]) == (True, 1, 100)
    assert points_of(client, member)["pending"] == 100  # a dry run writes nothing

    done = run_job(client, admin, "release-pending", as_of="2026-11-30")
    assert (done.json["due"], done.json["released"], done.json["points_released"]) == (1, 1, 100)
    points = points_of(client, member)
    assert (points["available"], points["pending"], points["lifetime"]) == (WELCOME + 100, 0, WELCOME + 100)
    release = ledger_of(client, member)[0]
    # earned on 23 November 2026: the lot ends on 30 November 2027
    assert (release["kind"], release["points"], release["pending"], release["expires_on"]) == (
        "release",
        100,
        -100,
        "2027-11-30",
    )

    rerun = run_job(client, admin, "release-pending", as_of="2026-11-30")
    assert (rerun.json["due"], rerun.json["released"]) == (0, 0)
    assert points_of(client, member)["available"] == WELCOME + 100


def test_purchase_points_expire_a_year_after_the_order_day_not_the_release_day(client, stack):
    stack.clock.set(at("2026-11-28T02:00:00+00:00"))
    member = register(client, stack)
    admin = admin_token(client, stack)
    assert order_paid(client, stack, member.member_id, "late-nov", paid_fen=10_000).status_code == 202

    # released in December, but earned on 28 November: the lot ends on 30 November 2027
    assert run_job(client, admin, "release-pending", as_of="2026-12-05").json["released"] == 1
    assert points_of(client, member)["expiring"] == [{"on": "2027-11-30", "points": WELCOME + 100}]
    assert ledger_of(client, member)[0]["expires_on"] == "2027-11-30"


def test_a_refund_inside_the_window_cancels_pending_points_in_proportion(client, stack):
    member = register(client, stack)
    other = register(client, stack)
    assert order_paid(client, stack, member.member_id, "w-1", paid_fen=10_000, gross_fen=12_000).status_code == 202
    assert order_paid(client, stack, member.member_id, "w-2", paid_fen=5_000).status_code == 202
    assert points_of(client, member)["pending"] == 150

    # 25.50 of 100 yuan back: 74.50 yuan stay paid -> 74 points stay pending, 26 are cancelled
    assert order_refunded(client, stack, member.member_id, "w-1", 2_550).status_code == 202
    assert points_of(client, member)["pending"] == 74 + 50
    assert order_refunded(client, stack, member.member_id, "w-1", 7_450).status_code == 202
    assert order_refunded(client, stack, member.member_id, "w-2", 5_000).status_code == 202
    points = points_of(client, member)
    assert (points["available"], points["pending"], points["lifetime"]) == (WELCOME, 0, WELCOME)
    cancels = [(e["kind"], e["pending"]) for e in ledger_of(client, member) if e["kind"] == "cancel"]
    assert sorted(cancels) == [("cancel", -74), ("cancel", -50), ("cancel", -26)]

    _assert_error(order_refunded(client, stack, member.member_id, "w-1", 1), 422, "refund_exceeds_paid")
    _assert_error(order_refunded(client, stack, other.member_id, "w-2", 1), 422, "unknown_order")
    _assert_error(order_refunded(client, stack, member.member_id, "never", 1), 422, "unknown_order")

    admin = admin_token(client, stack)
    release = run_job(client, admin, "release-pending", as_of="2026-11-30")
    assert (release.json["due"], release.json["points_released"]) == (0, 0)  # nothing left to release


def test_a_refund_inside_the_window_also_cancels_the_referrers_pending_points(client, stack):
    referrer = register(client, stack)
    buyer = register(client, stack, referrer_code=referrer.member_code)
    assert order_paid(client, stack, buyer.member_id, "rr-1", paid_fen=20_000, gross_fen=25_000).status_code == 202
    assert points_of(client, referrer)["pending"] == 500

    assert order_refunded(client, stack, buyer.member_id, "rr-1", 5_000).status_code == 202
    # a quarter of the paid amount back: the gross basis shrinks to 25000 * 15000 / 20000 = 18750 fen
    # -> 187 whole yuan -> 374 points stay pending for the referrer; 150 for the buyer
    assert points_of(client, referrer)["pending"] == 374
    assert points_of(client, buyer)["pending"] == 150

    admin = admin_token(client, stack)
    done = run_job(client, admin, "release-pending", as_of="2026-11-30")
    assert (done.json["released"], done.json["points_released"]) == (2, 374 + 150)
    assert points_of(client, referrer)["available"] == WELCOME + 50 + 374


def test_a_refund_after_release_reverses_from_available_and_lowers_lifetime(client, stack):
    member = register(client, stack)
    admin = admin_token(client, stack)
    assert order_paid(client, stack, member.member_id, "a-1", paid_fen=10_000).status_code == 202
    assert run_job(client, admin, "release-pending", as_of="2026-11-30").json["released"] == 1

    stack.clock.set(at("2026-12-01T02:00:00+00:00"))
    assert order_refunded(client, stack, member.member_id, "a-1", 4_000).status_code == 202
    # 60 yuan stay paid -> 60 points stay earned; 40 are reversed from the balance
    points = points_of(client, member)
    assert (points["available"], points["pending"], points["lifetime"], points["debt"]) == (120, 0, 120, 0)
    reversal = ledger_of(client, member)[0]
    assert (reversal["kind"], reversal["rule"], reversal["points"], reversal["ref"]) == (
        "reverse",
        "purchase",
        -40,
        "a-1",
    )


def test_a_refund_of_points_already_spent_creates_a_debt_that_later_earnings_repay_first(client, stack):
    member = register(client, stack)
    admin = admin_token(client, stack)
    assert order_paid(client, stack, member.member_id, "s-1", paid_fen=10_000).status_code == 202
    assert run_job(client, admin, "release-pending", as_of="2026-11-30").json["released"] == 1

    spent = client.post(
        "/v1/admin/adjustments",
        token=admin,
        json_body={"member_id": member.member_id, "points": -150, "reason": "spent in the mall"},
        headers=keyed(),
    )
    assert spent.status_code == 201, spent.body
    assert spent.json["balance_after"] == 10

    assert order_refunded(client, stack, member.member_id, "s-1", 10_000).status_code == 202
    # 100 to take back, 10 available: 90 become a debt; lifetime 160 - 100
    points = points_of(client, member)
    assert (points["available"], points["debt"], points["lifetime"], points["expiring"]) == (-90, 90, 60, [])

    # a member in debt cannot spend
    refused = client.post(
        "/v1/admin/adjustments",
        token=admin,
        json_body={"member_id": member.member_id, "points": -1, "reason": "x"},
        headers=keyed(),
    )
    _assert_error(refused, 422, "points_debt")

    # later earnings repay the debt first
    assert post_event(client, stack, "challenge.won", member.member_id).status_code == 202
    points = points_of(client, member)
    assert (points["available"], points["debt"], points["lifetime"], points["expiring"]) == (-78, 78, 72, [])
    assert post_event(client, stack, "event.checked_in", member.member_id, {"event_id": "ev-1"}).status_code == 202
    points = points_of(client, member)
    assert (points["available"], points["debt"], points["lifetime"]) == (122, 0, 272)
    assert points["expiring"] == [{"on": "2027-11-30", "points": 122}]


def test_a_refund_of_points_that_expired_creates_a_debt_and_expiry_never_lowers_lifetime(client, stack):
    member = register(client, stack)
    admin = admin_token(client, stack)
    assert order_paid(client, stack, member.member_id, "x-1", paid_fen=10_000).status_code == 202
    assert run_job(client, admin, "release-pending", as_of="2026-11-30").json["released"] == 1

    expired = run_job(client, admin, "expire-points", as_of="2027-12-01")
    assert (expired.json["members_expired"], expired.json["points_expired"]) == (1, WELCOME + 100)
    points = points_of(client, member)
    assert (points["available"], points["lifetime"]) == (0, WELCOME + 100)

    stack.clock.set(at("2027-12-02T02:00:00+00:00"))
    member = login(client, stack, member.phone)  # the refresh token has run out; +10 for the day
    assert order_refunded(client, stack, member.member_id, "x-1", 10_000).status_code == 202
    points = points_of(client, member)
    # 10 available from today's login, 100 to take back -> a debt of 90; lifetime 170 - 100
    assert (points["available"], points["debt"], points["lifetime"]) == (-90, 90, 70)


# --- jobs ----------------------------------------------------------------------------------------------------
def test_expire_points_removes_lots_whose_month_ended_with_dry_run_and_rerun(client, stack):
    member = register(client, stack)  # 60 in the lot 2027-11
    stack.clock.set(at("2026-12-05T02:00:00+00:00"))
    assert post_event(client, stack, "challenge.won", member.member_id).status_code == 202  # 12 in the lot 2027-12
    assert points_of(client, member)["expiring"] == [
        {"on": "2027-11-30", "points": 60},
        {"on": "2027-12-31", "points": 12},
    ]
    admin = admin_token(client, stack)

    not_yet = run_job(client, admin, "expire-points", as_of="2027-11-30")
    assert (not_yet.json["members_due"], not_yet.json["points_expired"]) == (0, 0)

    dry = run_job(client, admin, "expire-points", as_of="2027-12-01", dry_run=True)
    assert dry.status_code == 202, dry.body
    assert (dry.json["dry_run"], dry.json["members_due"], dry.json["points_expired"]) == (True, 1, 60)
    assert points_of(client, member)["available"] == 72  # a dry run writes nothing
    dry_entries = len(ledger_of(client, member))

    done = run_job(client, admin, "expire-points", as_of="2027-12-01")
    assert (done.json["members_expired"], done.json["points_expired"]) == (1, 60)
    points = points_of(client, member)
    assert (points["available"], points["lifetime"]) == (12, 72)
    assert points["expiring"] == [{"on": "2027-12-31", "points": 12}]
    expiry = ledger_of(client, member)
    assert len(expiry) == dry_entries + 1
    assert (expiry[0]["kind"], expiry[0]["points"], expiry[0]["balance_after"]) == ("expire", -60, 12)

    rerun = run_job(client, admin, "expire-points", as_of="2027-12-01")
    assert (rerun.json["members_due"], rerun.json["points_expired"]) == (0, 0)
    assert points_of(client, member)["available"] == 12


def test_a_dry_run_reports_what_the_real_run_then_does(client, stack):
    members = [register(client, stack) for _ in range(3)]
    for number, member in enumerate(members):
        assert (
            order_paid(client, stack, member.member_id, f"dr-{number}", paid_fen=(number + 1) * 1_000).status_code
            == 202
        )
    admin = admin_token(client, stack)

    for job, as_of in (("release-pending", "2026-11-30"), ("expire-points", "2027-12-01")):
        dry = run_job(client, admin, job, as_of=as_of, dry_run=True).json
        real = run_job(client, admin, job, as_of=as_of).json
        ignored = {"dry_run", "duration_ms"}
        assert {k: v for k, v in dry.items() if k not in ignored} == {
            k: v for k, v in real.items() if k not in ignored
        }, job


def test_job_requests_are_checked_before_anything_runs(client, stack):
    admin = admin_token(client, stack)
    for body in ({"period": "2026-11"}, {"as_of": "2026-02-30"}, {"as_of": "next tuesday"}):
        _assert_error(run_job(client, admin, "release-pending", **body), 422, "invalid_job_request")
    _assert_error(run_job(client, admin, "expire-points", as_of="2026-13-01"), 422, "invalid_job_request")
    _assert_error(run_job(client, admin, "no-such-job"), 404)

    member = register(client, stack)
    assert run_job(client, member.access_token, "release-pending").status_code == 403
    assert client.post("/v1/admin/jobs/release-pending", json_body={}).status_code == 401


def test_the_reconcile_job_over_http_reports_the_issued_spent_expired_reversed_identity(client, stack):
    member = register(client, stack)
    admin = admin_token(client, stack)
    assert order_paid(client, stack, member.member_id, "rc-1", paid_fen=10_000).status_code == 202
    assert order_refunded(client, stack, member.member_id, "rc-1", 3_000).status_code == 202

    report = run_job(client, admin, "reconcile")
    assert report.status_code == 202, report.body
    points = report.json["points"]
    assert points["ok"] is True
    # issued 60 + 100 pending; 30 of the pending cancelled (reversed)
    assert points["points"] == {
        "issued": 160,
        "spent": 0,
        "expired": 0,
        "reversed": 30,
        "sum_of_balances": 130,
        "issued_minus_spent_expired_reversed": 130,
    }


def test_the_scheduled_lambdas_run_the_same_jobs_with_console_json(client, stack):
    from chalice.test import Client as ChaliceClient

    from app import app
    from chalicelib.service_layer.jobs import InvalidJobRequest

    member = register(client, stack)
    assert order_paid(client, stack, member.member_id, "l-1", paid_fen=10_000).status_code == 202

    with ChaliceClient(app) as lambdas:
        dry = scheduled_report(lambdas, "release-pending", {"as_of": "2026-11-30", "dry_run": True})
        assert (dry["job"], dry["dry_run"], dry["due"], dry["points_released"]) == ("release-pending", True, 1, 100)
        assert points_of(client, member)["pending"] == 100  # written nothing

        # the schedule's own event means "today" (2026-11-23): nothing is due yet
        scheduled = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}, "id": "x"}
        assert scheduled_report(lambdas, "release-pending", scheduled)["due"] == 0

        done = scheduled_report(lambdas, "release-pending", {"as_of": "2026-11-30"})
        assert (done["released"], done["points_released"]) == (1, 100)
        assert points_of(client, member)["available"] == WELCOME + 100

        expired = scheduled_report(lambdas, "expire-points", {"as_of": "2027-12-01"})
        assert expired["points_expired"] == WELCOME + 100

        reconciled = scheduled_report(lambdas, "reconcile", {})
        assert reconciled["points"]["ok"] is True

        with pytest.raises(InvalidJobRequest):
            lambdas.lambda_.invoke("expire-points", {"as_of": "2027-02-30"})


# --- the statement ------------------------------------------------------------------------------------------
def test_the_points_ledger_pages_newest_first_and_every_entry_once(client, stack):
    member = register(client, stack)
    for _ in range(3):
        post_event(client, stack, "challenge.won", member.member_id)
    for _ in range(2):
        post_event(client, stack, "content.posted", member.member_id, {"kind": "post"})
        stack.clock.advance(seconds=1)
    order_paid(client, stack, member.member_id, "led-1", paid_fen=5_000)

    everything = ledger_of(client, member, limit=200)
    assert [e["rule"] for e in everything] == [
        "purchase",
        "content",
        "content",
        "challenge_win",
        "challenge_win",
        "challenge_win",
        "daily_login",
        "register",
    ]
    assert len({e["id"] for e in everything}) == len(everything)
    times = [e["created_at"] for e in everything]
    assert times == sorted(times, reverse=True)
    assert everything[0]["balance_after"] == WELCOME + 36 + 4
    assert everything[0]["pending_after"] == 50
    assert sum(e["points"] for e in everything) == WELCOME + 36 + 4

    token = refreshed(client, member).access_token
    pages, cursor = [], None
    while True:
        page = client.get("/v1/me/points/ledger?limit=3" + (f"&cursor={cursor}" if cursor else ""), token=token).json
        pages.append(page["entries"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(page) for page in pages] == [3, 3, 2]
    assert [e for page in pages for e in page] == everything

    assert client.get("/v1/me/points/ledger?cursor=bogus", token=token).status_code == 400
    assert client.get("/v1/me/points/ledger?limit=201", token=token).status_code == 400


def test_stars_follow_lifetime_points_which_expiry_and_spending_never_lower(client, stack):
    member = register(client, stack)
    admin = admin_token(client, stack)
    assert order_paid(client, stack, member.member_id, "st-1", paid_fen=193_999).status_code == 202
    assert me(client, member)["stars"] == 0  # pending points are not lifetime points yet
    assert run_job(client, admin, "release-pending", as_of="2026-11-30").json["released"] == 1
    assert me(client, member)["points"]["lifetime"] == 60 + 1_939
    assert me(client, member)["stars"] == 0  # 1,999

    assert post_event(client, stack, "challenge.won", member.member_id).status_code == 202
    view = me(client, member)
    assert (view["points"]["lifetime"], view["stars"]) == (2_011, 1)

    spent = client.post(
        "/v1/admin/adjustments",
        token=admin,
        json_body={"member_id": member.member_id, "points": -2_000, "reason": "x"},
        headers=keyed(),
    )
    assert spent.status_code == 201, spent.body
    assert run_job(client, admin, "expire-points", as_of="2027-12-01").json["points_expired"] == 11
    view = me(client, member)
    assert (view["points"]["available"], view["points"]["lifetime"], view["stars"]) == (0, 2_011, 1)

    # a reversal does lower lifetime, and the stars with it
    assert order_refunded(client, stack, member.member_id, "st-1", 10_000).status_code == 202
    view = me(client, member)
    assert (view["points"]["lifetime"], view["points"]["debt"], view["stars"]) == (1_911, 100, 0)
