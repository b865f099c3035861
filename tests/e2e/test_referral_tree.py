"""The referral tree (RULES.md 2): the three ways a referrer is bound, the rules of a late
binding, invitations on a friend's behalf, the referral list, and concurrent bindings."""

from __future__ import annotations

import sys
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.adapters.dynamodb.identity import MemberItem
from tests.builders import (
    Member,
    accepted_now,
    assert_error,
    close_account,
    forbid_server_errors,
    invite,
    last_code,
    login,
    me,
    new_phone,
    referrals,
    register,
    send_code,
    table_items,
)


@pytest.fixture(autouse=True)
def _no_server_errors(client):
    forbid_server_errors(client)


SHANGHAI = ZoneInfo("Asia/Shanghai")


def bind(client, member: Member, code: str):
    return client.post("/v1/me/referrer", token=member.access_token, json_body={"code": code})


def listed(client, member: Member) -> list[tuple[str, str, str]]:
    return [(r["member_id"], r["status"], r["bound_via"]) for r in referrals(client, member)["referrals"]]


def register_pending(client, c, phone: str, referrer_code: str | None = None) -> Member:
    """The invited friend proves the number by registering (with their own code, if any)."""
    return register(client, c, phone=phone, referrer_code=referrer_code)


# --- 1 and 2: a code at registration, or typed later ---------------------------------------------------
def test_a_late_binding_by_member_code_within_the_window(client, stack):
    referrer = register(client, stack)
    member = register(client, stack)
    bound = bind(client, member, referrer.member_code)
    assert bound.status_code == 200, bound.body
    assert bound.json["referrer_code"] == referrer.member_code
    assert bound.json == me(client, member)
    assert listed(client, referrer) == [(member.member_id, "active", "late")]


def test_a_referrer_is_bound_once(client, stack):
    first, second = register(client, stack), register(client, stack)
    member = register(client, stack, referrer_code=first.member_code)
    assert_error(bind(client, member, second.member_code), 409, "already_bound")
    late = register(client, stack)
    assert bind(client, late, first.member_code).status_code == 200
    assert_error(bind(client, late, second.member_code), 409, "already_bound")
    assert me(client, late)["referrer_code"] == first.member_code


def test_a_member_cannot_refer_themselves(client, stack):
    member = register(client, stack)
    assert_error(bind(client, member, member.member_code), 422, "self_referral")
    assert me(client, member)["referrer_code"] is None


def test_a_descendant_cannot_become_the_referrer(client, stack):
    root = register(client, stack)
    child = register(client, stack, referrer_code=root.member_code)
    grandchild = register(client, stack, referrer_code=child.member_code)
    assert_error(bind(client, root, child.member_code), 422, "cycle")
    assert_error(bind(client, root, grandchild.member_code), 422, "cycle")
    assert me(client, root)["referrer_code"] is None


def test_an_unknown_code_is_422(client, stack):
    member = register(client, stack)
    assert_error(bind(client, member, "000000000"), 422, "unknown_referrer")
    assert_error(bind(client, member, "hello"), 422, "unknown_referrer")


def test_late_binding_closes_30_days_after_registration(client, stack, clock):
    referrer = register(client, stack)
    on_the_day, a_second_late = register(client, stack), register(client, stack)
    clock.advance(days=30)
    on_the_day = login(client, stack, on_the_day.phone)
    assert bind(client, on_the_day, referrer.member_code).status_code == 200
    clock.advance(seconds=1)
    a_second_late = login(client, stack, a_second_late.phone)
    assert_error(bind(client, a_second_late, referrer.member_code), 422, "binding_closed")
    assert me(client, a_second_late)["referrer_code"] is None


def test_late_binding_closes_with_the_first_paid_order(client, stack, clock):
    referrer = register(client, stack)
    member = register(client, stack)
    # orders are another area's; a paid order leaves exactly this mark on the member
    item = MemberItem.get(f"MEMBER#{member.member_id}", MemberItem.SK)
    item.update(actions=[MemberItem.first_paid_at.set(clock.now())])
    assert_error(bind(client, member, referrer.member_code), 422, "binding_closed")
    assert listed(client, referrer) == []


def test_a_closed_member_is_no_referrer(client, stack):
    gone = register(client, stack)
    member = register(client, stack)
    code = gone.member_code
    assert close_account(client, gone.access_token, "bye").status_code == 204
    assert_error(bind(client, member, code), 422, "unknown_referrer")


# --- 3: on a friend's behalf -------------------------------------------------------------------------
def test_an_invited_friend_stays_pending_until_they_register(client, stack):
    referrer = register(client, stack)
    phone = new_phone()
    invited = client.post("/v1/me/referrals", token=referrer.access_token, json_body={"phone": phone})
    assert invited.status_code == 201, invited.body
    assert set(invited.json) == {"phone", "invited_at"}
    assert invited.json["phone"] == f"+86 {phone[3:6]}****{phone[-4:]}"
    assert datetime.fromisoformat(invited.json["invited_at"]) == stack.now()
    # the account exists, pending; the inviter sees the friend once they prove the number
    assert [item["status"]["S"] for item in table_items(stack) if item["sk"]["S"] == MemberItem.SK].count(
        "pending"
    ) == 1
    assert listed(client, referrer) == []

    friend = register_pending(client, stack, phone)
    assert me(client, friend)["referrer_code"] == referrer.member_code
    assert me(client, friend)["status"] == "active"
    assert listed(client, referrer) == [(friend.member_id, "active", "on_behalf")]
    # registered when invited (the tie rule of RULES.md 5.1 reads this order)
    assert referrals(client, referrer)["referrals"][0]["registered_at"] == invited.json["invited_at"]


def test_an_invited_friend_is_activated_by_signing_in_with_a_code(client, stack):
    referrer = register(client, stack)
    phone = invite(client, referrer)
    friend = login(client, stack, phone)
    view = me(client, friend)
    assert (view["status"], view["referrer_code"]) == ("active", referrer.member_code)
    assert view["member_code"] is not None
    assert listed(client, referrer)[0][1] == "active"


def test_an_invitation_alone_proves_nothing(client, stack):
    referrer = register(client, stack)
    phone = invite(client, referrer)
    assert_error(client.post("/v1/auth/login", json_body={"phone": phone, "code": "000000"}), 401, "invalid_code")
    again = client.post("/v1/me/referrals", token=referrer.access_token, json_body={"phone": phone})
    assert again.status_code == 201, again.body
    assert listed(client, referrer) == []


def test_the_friends_own_referrer_code_wins_over_the_invitation(client, stack):
    inviter, chosen = register(client, stack), register(client, stack)
    phone = invite(client, inviter)
    friend = register_pending(client, stack, phone, referrer_code=chosen.member_code)
    assert me(client, friend)["referrer_code"] == chosen.member_code
    assert listed(client, inviter) == []
    assert listed(client, chosen) == [(friend.member_id, "active", "code")]


def test_a_stale_invitation_is_dropped(client, stack, clock):
    inviter, later = register(client, stack), register(client, stack)
    phone = invite(client, inviter)
    clock.advance(days=30, seconds=1)
    friend = register_pending(client, stack, phone)
    assert me(client, friend)["referrer_code"] is None
    assert listed(client, login(client, stack, inviter.phone)) == []
    # the friend's own late-binding window starts when they registered themselves
    assert bind(client, friend, later.member_code).status_code == 200


def test_a_stale_invitation_still_binds_when_the_friend_types_the_inviters_code(client, stack, clock):
    inviter = register(client, stack)
    phone = invite(client, inviter)
    clock.advance(days=31)
    friend = register_pending(client, stack, phone, referrer_code=inviter.member_code)
    assert me(client, friend)["referrer_code"] == inviter.member_code
    assert listed(client, login(client, stack, inviter.phone)) == [(friend.member_id, "active", "code")]


def test_an_invitation_from_a_member_who_closed_the_account_is_dropped(client, stack):
    inviter = register(client, stack)
    phone = invite(client, inviter)
    assert close_account(client, inviter.access_token, "bye").status_code == 204
    friend = register_pending(client, stack, phone)
    assert me(client, friend)["referrer_code"] is None
    item = MemberItem.get(f"MEMBER#{friend.member_id}", MemberItem.SK)
    assert item.referrer_id is None and item.gsi1pk is None


def test_inviting_an_existing_member_changes_nothing_but_the_daily_count(client, stack):
    referrer, member = register(client, stack), register(client, stack)
    answer = client.post("/v1/me/referrals", token=referrer.access_token, json_body={"phone": member.phone})
    assert answer.status_code == 201, answer.body
    assert listed(client, referrer) == []
    assert me(client, member)["referrer_code"] is None


def test_at_most_twenty_invitations_a_day(client, stack, clock):
    referrer = register(client, stack)
    for _ in range(20):
        invite(client, referrer)
    answer = client.post("/v1/me/referrals", token=referrer.access_token, json_body={"phone": new_phone()})
    assert_error(answer, 429, "rate_limited")
    # the quota is per Shanghai calendar day: 10:00 local now, so 14 hours to wait
    midnight = datetime(2026, 11, 24, tzinfo=SHANGHAI)
    assert int(answer.headers["retry-after"]) == int((midnight - clock.now()).total_seconds())
    clock.set(midnight)
    invite(client, login(client, stack, referrer.phone))


# --- the referral list ------------------------------------------------------------------------------
def test_referrals_page_in_registration_order_with_a_cursor(client, stack, clock):
    referrer = register(client, stack)
    expected = []
    for _ in range(5):
        clock.advance(seconds=1)
        invite(client, referrer)  # pending friends between them are not listed
        expected.append(register(client, stack, referrer_code=referrer.member_code).member_id)

    seen, cursor, pages = [], None, 0
    while True:
        page = referrals(client, referrer, limit=2, **({"cursor": cursor} if cursor else {}))
        pages += 1
        seen += [r["member_id"] for r in page["referrals"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert pages == 3

    whole = referrals(client, referrer, limit=5)
    assert [r["member_id"] for r in whole["referrals"]] == expected
    assert whole["next_cursor"] is None
    assert [r["member_id"] for r in referrals(client, referrer)["referrals"]] == expected  # default limit 50


def test_a_tampered_or_foreign_cursor_is_400(client, stack):
    referrer, other = register(client, stack), register(client, stack)
    for _ in range(2):
        register(client, stack, referrer_code=referrer.member_code)
    cursor = referrals(client, referrer, limit=1)["next_cursor"]
    assert cursor
    body, signature = cursor.rsplit(".", 1)
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    for bad in (f"{body}.{flipped}", f"{body[:-2]}AA.{signature}", "garbage", "a.b.c", "%00"):
        answer = client.get(f"/v1/me/referrals?cursor={bad}", token=referrer.access_token)
        assert_error(answer, 400)
    # a valid cursor of one member's list does not open another's
    assert_error(client.get(f"/v1/me/referrals?cursor={cursor}", token=other.access_token), 400, "invalid_cursor")


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=abc", "limit=-1", "limit=1.5", "colour=blue"])
def test_bad_list_parameters_are_400(client, stack, query):
    member = register(client, stack)
    assert_error(client.get(f"/v1/me/referrals?{query}", token=member.access_token), 400)


# --- concurrency ------------------------------------------------------------------------------------
def _together(*calls):
    """Run the calls at the same moment on separate threads; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_members_binding_each_other_at_once_make_no_cycle(client, stack):
    for _ in range(3):
        a, b = register(client, stack), register(client, stack)
        answers = _together(
            lambda a=a, b=b: bind(client, a, b.member_code), lambda a=a, b=b: bind(client, b, a.member_code)
        )
        assert sorted(answer.status_code for answer in answers) == [200, 422], [x.body for x in answers]
        loser = next(answer for answer in answers if answer.status_code == 422)
        assert_error(loser, 422, "cycle")
        bound = [me(client, m)["referrer_code"] for m in (a, b)]
        assert sorted(code is None for code in bound) == [False, True]


def test_concurrent_requests_each_see_their_own_caller(client, stack):
    """The local server is threaded; Chalice keeps ``app.current_request`` in one shared attribute."""
    members = [register(client, stack) for _ in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible to expose a shared request
    try:
        for _ in range(5):
            answers = _together(*[(lambda m=m: client.get("/v1/me", token=m.access_token)) for m in members])
            assert [answer.json.get("member_id") for answer in answers] == [m.member_id for m in members]
    finally:
        sys.setswitchinterval(interval)


def test_one_refresh_token_used_twice_at_once_rotates_once_and_revokes_the_family(client, stack):
    member = register(client, stack)
    body = {"refresh_token": member.refresh_token}
    answers = _together(*[lambda: client.post("/v1/auth/refresh", json_body=body)] * 2)
    assert sorted(answer.status_code for answer in answers) == [200, 401], [a.body for a in answers]
    winner = next(answer for answer in answers if answer.status_code == 200)
    again = client.post("/v1/auth/refresh", json_body={"refresh_token": winner.json["refresh_token"]})
    assert_error(again, 401)


def test_one_code_registering_twice_at_once_makes_one_member(client, stack):
    phone = new_phone()
    send_code(client, phone, "register")
    body = {"phone": phone, "code": last_code(stack, phone), "accepted": accepted_now(stack)}
    answers = _together(*[lambda: client.post("/v1/auth/register", json_body=body)] * 3)
    assert sorted(answer.status_code for answer in answers)[0] == 201
    assert [answer.status_code for answer in answers].count(201) == 1, [a.body for a in answers]
    for answer in answers:
        if answer.status_code != 201:
            assert_error(answer, answer.status_code)
            assert answer.status_code in (401, 409)
    profiles = [i for i in table_items(stack) if i["pk"]["S"].startswith("MEMBER#") and i["sk"]["S"] == "PROFILE"]
    assert len(profiles) == 1


def test_the_registration_instant_orders_the_list(client, stack, clock):
    referrer = register(client, stack)
    first = register(client, stack, referrer_code=referrer.member_code)
    clock.advance(seconds=1)
    send_code(client, second_phone := new_phone(), "register")
    second = client.post(
        "/v1/auth/register",
        json_body={
            "phone": second_phone,
            "code": last_code(stack, second_phone),
            "referrer_code": referrer.member_code,
            "accepted": accepted_now(stack),
        },
    ).json
    rows = referrals(client, referrer)["referrals"]
    assert [r["member_id"] for r in rows] == [first.member_id, second["member_id"]]
    assert datetime.fromisoformat(rows[1]["registered_at"]) - datetime.fromisoformat(rows[0]["registered_at"]) == (
        timedelta(seconds=1)
    )
