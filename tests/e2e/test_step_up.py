"""Step-up proof over HTTP: changing the payout account and withdrawing need a fresh
proof of the phone on this session (a step-up code, or the sign-in itself), and each
withdrawal is paid to the payout account as it was when the member asked."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from chalicelib.local.queues import drain
from tests.builders import (
    assert_error,
    close_account,
    forbid_server_errors,
    last_code,
    login,
    refreshed,
    register,
    step_up,
    table_items,
)
from tests.conftest import MutableClock
from tests.wallet_builders import Desk, Person, ready_to_withdraw, verify_identity

ACCOUNT = "6222020000001234"
LATER_ACCOUNT = "6222020000005678"
EXPIRED = timedelta(minutes=5, seconds=1)


@pytest.fixture(autouse=True)
def _no_server_errors(client):
    forbid_server_errors(client)


@pytest.fixture
def desk(client, stack) -> Desk:
    return Desk(client, stack)


def set_account(client, token: str, account: str = ACCOUNT, holder: str = "张三"):
    return client.post(
        "/v1/me/payout-account", token=token, json_body={"kind": "bank", "account": account, "holder": holder}
    )


def withdraw(client, token: str, amount_fen: int = 10_000, key: str | None = None):
    headers = {"Idempotency-Key": key} if key else None
    return client.post("/v1/me/withdrawals", token=token, json_body={"amount_fen": amount_fen}, headers=headers)


def verified_member(client, stack, desk, aibi_fen: int = 0) -> Person:
    """A member with approved KYC, a payout account and ``aibi_fen``; the session's proof spent."""
    member = Person(client, stack, register(client, stack), stack.now())
    ready_to_withdraw(desk, member, aibi_fen)
    return member


def test_a_stale_proof_refuses_a_payout_account_change_and_changes_nothing(client, stack, clock):
    member = register(client, stack)
    clock.advance(seconds=EXPIRED.total_seconds())
    before = table_items(stack)
    assert_error(set_account(client, member.access_token), 403, "step_up_required")
    assert table_items(stack) == before


def test_a_registration_or_a_login_is_a_proof_and_a_refresh_is_not(client, stack, clock):
    member = register(client, stack)
    assert set_account(client, member.access_token).status_code == 200
    clock.advance(seconds=61)
    again = login(client, stack, member.phone)
    assert set_account(client, again.access_token, LATER_ACCOUNT).status_code == 200

    clock.advance(seconds=61)
    third = login(client, stack, member.phone)
    clock.advance(seconds=EXPIRED.total_seconds())
    refreshed(client, third)  # a new access token of the same session proves nothing
    assert_error(set_account(client, third.access_token), 403, "step_up_required")


def test_a_step_up_code_goes_to_the_members_own_number_and_proves_only_that_session(client, stack, clock):
    device_a = register(client, stack)
    clock.advance(seconds=61)
    device_b = login(client, stack, device_a.phone)
    clock.advance(seconds=EXPIRED.total_seconds())
    sent_before = len(stack.outbox.messages_to(device_a.phone))

    sent = client.post("/v1/me/step-up/code", token=device_a.access_token)
    assert sent.status_code == 202 and sent.json == {"expires_in": 300, "resend_after": 60}
    drain()  # the SMS leaves through the queue's worker
    assert len(stack.outbox.messages_to(device_a.phone)) == sent_before + 1
    proved = client.post(
        "/v1/me/step-up", token=device_a.access_token, json_body={"code": last_code(stack, device_a.phone)}
    )
    assert proved.status_code == 200
    valid_until = datetime.fromisoformat(proved.json["valid_until"])
    assert valid_until == clock.now() + timedelta(minutes=5)

    assert_error(set_account(client, device_b.access_token), 403, "step_up_required")
    assert set_account(client, device_a.access_token).status_code == 200


def test_the_public_code_route_sends_no_step_up_code_to_any_number(client, stack):
    member = register(client, stack)
    refused = client.post("/v1/auth/otp", json_body={"phone": member.phone, "purpose": "step_up"})
    assert_error(refused, 400, "invalid_request")


def test_a_step_up_code_waits_the_resend_interval_of_the_number_whatever_the_purpose(client, stack, clock):
    member = register(client, stack)
    assert client.post("/v1/me/step-up/code", token=member.access_token).status_code == 202
    clock.advance(seconds=20)
    again = client.post("/v1/me/step-up/code", token=member.access_token)
    assert_error(again, 429, "rate_limited")
    assert again.headers["retry-after"] == "40"
    sign_in = client.post("/v1/auth/otp", json_body={"phone": member.phone, "purpose": "login"})
    assert_error(sign_in, 429, "rate_limited")


def test_a_wrong_step_up_code_spends_one_of_five_tries(client, stack, clock):
    member = register(client, stack)
    clock.advance(seconds=EXPIRED.total_seconds())
    assert client.post("/v1/me/step-up/code", token=member.access_token).status_code == 202
    code = last_code(stack, member.phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1, 0):
        error = assert_error(
            client.post("/v1/me/step-up", token=member.access_token, json_body={"code": wrong}), 401, "invalid_code"
        )
        assert error["attempts_left"] == left
    spent = client.post("/v1/me/step-up", token=member.access_token, json_body={"code": code})
    assert_error(spent, 401, "invalid_code")
    assert_error(set_account(client, member.access_token), 403, "step_up_required")


def test_a_step_up_code_works_once(client, stack, clock):
    member = register(client, stack)
    clock.advance(seconds=EXPIRED.total_seconds())
    step_up(client, stack, member)
    code = last_code(stack, member.phone)
    again = client.post("/v1/me/step-up", token=member.access_token, json_body={"code": code})
    assert_error(again, 401, "invalid_code")


def test_a_payout_account_change_spends_the_proof_and_withdrawals_share_it(client, stack, desk):
    member = verified_member(client, stack, desk, 30_000)
    token = member.token
    assert_error(withdraw(client, token), 403, "step_up_required")
    step_up(client, stack, member.member)
    assert set_account(client, token).status_code == 200
    assert_error(set_account(client, token, LATER_ACCOUNT), 403, "step_up_required")
    assert_error(withdraw(client, token), 403, "step_up_required")
    assert member.wallet() == {"balance_fen": 30_000, "held_fen": 0}

    step_up(client, stack, member.member)
    assert withdraw(client, token).status_code == 201
    assert withdraw(client, token).status_code == 201
    assert member.wallet() == {"balance_fen": 10_000, "held_fen": 20_000}


def test_a_withdrawal_refused_for_a_business_rule_asks_no_proof_first(client, stack, desk, clock):
    member = Person(client, stack, register(client, stack), stack.now())
    verify_identity(desk, member)
    clock.advance(seconds=EXPIRED.total_seconds())
    assert_error(withdraw(client, member.token), 422, "payout_account_required")


def test_a_retry_with_the_same_key_gets_the_first_withdrawal_after_the_proof_expired(client, stack, desk, clock):
    member = verified_member(client, stack, desk, 30_000)
    member.step_up()
    first = withdraw(client, member.token, key="withdraw-stepup-1")
    assert first.status_code == 201
    clock.advance(seconds=EXPIRED.total_seconds())
    retry = withdraw(client, member.token, key="withdraw-stepup-1")
    assert (retry.status_code, retry.json) == (201, first.json)
    assert_error(withdraw(client, member.token, key="withdraw-stepup-2"), 403, "step_up_required")
    assert member.wallet() == {"balance_fen": 20_000, "held_fen": 10_000}


def test_the_withdrawal_is_paid_to_the_account_of_the_request_whatever_the_member_sets_later(client, stack, desk):
    member = verified_member(client, stack, desk, 30_000)
    member.step_up()
    withdrawal_id = withdraw(client, member.token).json["withdrawal_id"]
    member.step_up()
    assert set_account(client, member.token, LATER_ACCOUNT, "张三").status_code == 200

    [queued] = desk.get("/v1/admin/withdrawals?status=pending", "finance").json["withdrawals"]
    assert (queued["payout_account"], queued["payout_holder"]) == ("*" * 12 + "1234", "张*")
    assert desk.post(f"/v1/admin/withdrawals/{withdrawal_id}/approve", "finance", {"reason": "ok"}).status_code == 200
    revealed = desk.post(
        f"/v1/admin/withdrawals/{withdrawal_id}/payout-account/reveal", "finance", {"reason": "paying it"}
    )
    assert revealed.status_code == 200
    assert revealed.json == {
        "withdrawal_id": withdrawal_id,
        "member_id": member.id,
        "status": "approved",
        "kind": "bank",
        "account": ACCOUNT,
        "holder": "张三",
    }
    paid = desk.post(f"/v1/admin/withdrawals/{withdrawal_id}/paid", "admin", {"reference": "BANK-7"})
    assert paid.status_code == 200 and paid.json["payout_account"].endswith("1234")
    [mine] = member.get("/v1/me/withdrawals").json["withdrawals"]
    assert (mine["status"], mine["payout_account"]) == ("paid", "*" * 12 + "1234")


def test_a_reveal_is_audited_with_its_reason_and_never_the_account(client, stack, desk):
    member = verified_member(client, stack, desk, 10_000)
    member.step_up()
    withdrawal_id = withdraw(client, member.token).json["withdrawal_id"]
    path = f"/v1/admin/withdrawals/{withdrawal_id}/payout-account/reveal"
    assert desk.post(path, "finance", {"reason": "checking the account before approving"}).status_code == 200
    history = desk.get(f"/v1/admin/audit?target_id={withdrawal_id}", "admin").json["entries"]
    [entry] = [e for e in history if e["action"] == "withdrawal.payout_revealed"]
    assert entry["reason"] == "checking the account before approving"
    assert "finance" in entry["actor_roles"]
    assert entry["after"] == {"status": "pending", "member_id": member.id}
    everything = desk.get(f"/v1/admin/audit?day={stack.now().date().isoformat()}&limit=200", "admin").body.decode()
    assert "payout_account.set" in everything and "withdrawal.request" in everything
    assert ACCOUNT not in everything and "张三" not in everything


def test_a_reveal_needs_finance_a_reason_and_a_withdrawal(client, stack, desk):
    member = verified_member(client, stack, desk, 10_000)
    member.step_up()
    withdrawal_id = withdraw(client, member.token).json["withdrawal_id"]
    path = f"/v1/admin/withdrawals/{withdrawal_id}/payout-account/reveal"
    assert_error(desk.post(path, "ops", {"reason": "curious"}), 403)
    assert_error(client.post(path, token=member.token, json_body={"reason": "mine"}), 403)
    assert_error(desk.post(path, "finance", {}), 400, "invalid_request")
    assert_error(desk.post(path, "finance", {"reason": "   "}), 400, "invalid_request")
    unknown = desk.post("/v1/admin/withdrawals/01NOSUCHWITHDRAWAL/payout-account/reveal", "finance", {"reason": "x"})
    assert_error(unknown, 404, "not_found")
    history = desk.get(f"/v1/admin/audit?target_id={withdrawal_id}", "admin").json["entries"]
    assert not [e for e in history if e["action"] == "withdrawal.payout_revealed"]


def test_closing_the_account_erases_the_payout_snapshots_of_its_finished_withdrawals(client, stack, desk):
    member = verified_member(client, stack, desk, 30_000)
    member.step_up()
    rejected = withdraw(client, member.token, 20_000).json["withdrawal_id"]
    assert desk.post(f"/v1/admin/withdrawals/{rejected}/reject", "finance", {"reason": "no"}).status_code == 200
    paid = withdraw(client, member.token, 30_000).json["withdrawal_id"]
    assert desk.post(f"/v1/admin/withdrawals/{paid}/approve", "finance", {"reason": "ok"}).status_code == 200
    assert desk.post(f"/v1/admin/withdrawals/{paid}/paid", "admin", {"reference": "BANK-9"}).status_code == 200

    assert close_account(client, member.token, "leaving").status_code == 204
    for withdrawal_id in (rejected, paid):
        refused = desk.post(
            f"/v1/admin/withdrawals/{withdrawal_id}/payout-account/reveal", "finance", {"reason": "dispute"}
        )
        assert_error(refused, 409, "payout_account_not_recorded")
    stored = [
        item for item in table_items(stack) if item["pk"]["S"] in (f"WITHDRAWAL#{rejected}", f"WITHDRAWAL#{paid}")
    ]
    assert len(stored) == 2
    for item in stored:
        assert not {"payout_enc", "payout_holder_masked"} & set(item)
        assert item["payout_account_masked"]["S"] == "*" * 12 + "1234"


def test_closing_with_a_withdrawal_open_erases_nothing(client, stack, desk):
    member = verified_member(client, stack, desk, 10_000)
    member.step_up()
    withdrawal_id = withdraw(client, member.token).json["withdrawal_id"]
    refused = close_account(client, member.token, "leaving")
    assert_error(refused, 409, "account_not_closable")
    revealed = desk.post(f"/v1/admin/withdrawals/{withdrawal_id}/payout-account/reveal", "finance", {"reason": "pay"})
    assert revealed.status_code == 200 and revealed.json["account"] == ACCOUNT


@pytest.fixture
def wall(stack, clock) -> MutableClock:
    """A wall clock of its own, apart from the business clock ``clock``, as on the local
    stage after ``POST /v1/dev/clock``: step-up is security time, like the codes."""
    wall = MutableClock(clock.now())
    stack.wall_clock = wall
    return wall


def test_a_proof_expires_on_the_wall_clock_and_not_on_the_business_clock(client, stack, clock, wall):
    member = register(client, stack)
    clock.advance(days=40)  # a rehearsal jumps a month ahead: the proof still stands
    assert set_account(client, member.access_token).status_code == 200

    wall.advance(seconds=61)
    step_up(client, stack, member)
    wall.advance(seconds=EXPIRED.total_seconds())
    assert_error(set_account(client, member.access_token, LATER_ACCOUNT), 403, "step_up_required")
