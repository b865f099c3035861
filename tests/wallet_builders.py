"""Builders for the wallet and spending tests: staff desks that sign in again when their
token would expire, members with points, aibi, approved KYC and a payout account, signed
shop calls, and the reconciliation check every scenario ends with.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from stdnum.cn import ric

from chalicelib.bootstrap import Container
from chalicelib.local.gateway import Client, HttpResponse
from chalicelib.service_layer.reconcile import reconcile
from tests.builders import Member, StaffDesk, decide_review, fresh_ip, login, post_signed, register, step_up

# Re-sign in a little before the 15-minute access tokens run out.
TOKEN_FRESH = timedelta(minutes=14)
_id_sequence = itertools.count(1)


def resident_id(sequence: int | None = None) -> str:
    """A valid mainland resident ID (GB 11643 check digit), a new one on each call."""
    number = next(_id_sequence) if sequence is None else sequence
    body = f"11010519491231{number % 1000:03d}"
    return body + ric.calc_check_digit(body + "?")  # stdnum reads all but the last character


class Desk(StaffDesk):
    """The staff of one test (see ``tests.builders.StaffDesk``)."""

    def __init__(self, client: Client, stack: Container) -> None:
        super().__init__(client, stack, fresh_for=TOKEN_FRESH)


# The routes that need a step-up proof on the session, and the one of them that spends it.
STEP_UP_PATHS = ("/v1/me/payout-account", "/v1/me/withdrawals")
SPENDS_PROOF = "/v1/me/payout-account"
# Step up again a little before a proof runs out (SessionRules.step_up_ttl_s, 5 minutes).
PROOF_FRESH = timedelta(minutes=4)


@dataclass
class Person:
    """A member as a test drives it: signs in again when the access token is stale, and
    proves the phone again (a step-up) before a payout-account change or a withdrawal
    when the session's proof is spent or about to expire, as the app asks the member to."""

    client: Client
    stack: Container
    member: Member
    signed_in_at: datetime
    proven_at: datetime | None = None  # the session's step-up proof (a sign-in is one)

    def __post_init__(self) -> None:
        self.proven_at = self.signed_in_at

    @property
    def id(self) -> str:
        return self.member.member_id

    @property
    def token(self) -> str:
        if self.stack.now() - self.signed_in_at >= TOKEN_FRESH:
            fresh_ip(self.client)
            self.member = login(self.client, self.stack, self.member.phone)
            self.signed_in_at = self.proven_at = self.stack.now()
        return self.member.access_token

    def step_up(self) -> None:
        """A fresh step-up proof on the current session."""
        token = self.token
        fresh_ip(self.client)
        step_up(self.client, self.stack, self.member)
        assert token == self.member.access_token
        self.proven_at = self.stack.now()

    def fresh_proof(self) -> None:
        """A step-up proof fresh enough for the next payout-account change or withdrawal."""
        self.token  # noqa: B018  # a new sign-in first: its proof is the session's
        if self.proven_at is None or self.stack.now() - self.proven_at >= PROOF_FRESH:
            self.step_up()

    def post(self, path: str, body: dict[str, Any] | None = None, key: str | None = None) -> HttpResponse:
        if path in STEP_UP_PATHS:
            self.fresh_proof()
        headers = {"Idempotency-Key": key} if key else None
        response = self.client.post(path, token=self.token, json_body=body if body is not None else {}, headers=headers)
        if path == SPENDS_PROOF and response.status_code == 200:
            self.proven_at = None
        return response

    def get(self, path: str) -> HttpResponse:
        return self.client.get(path, token=self.token)

    def me(self) -> dict[str, Any]:
        response = self.get("/v1/me")
        assert response.status_code == 200, response.body
        return response.json

    def wallet(self) -> dict[str, int]:
        return self.me()["wallet"]

    def points(self) -> int:
        return self.me()["points"]["available"]


def person(client: Client, stack: Container) -> Person:
    """A newly registered member: 50 for registering + 10 for the day's first session = 60 points."""
    fresh_ip(client)
    return Person(client, stack, register(client, stack), stack.now())


def give_points(desk: Desk, who: Person, points: int) -> None:
    desk.adjust("ops", {"member_id": who.id, "points": points, "reason": "test"})


def give_aibi(desk: Desk, who: Person, amount_fen: int) -> None:
    desk.adjust("finance", {"member_id": who.id, "amount_fen": amount_fen, "reason": "test"})


def verify_identity(desk: Desk, who: Person, real_name: str = "张三") -> None:
    response = who.post("/v1/me/kyc", {"real_name": real_name, "id_number": resident_id()})
    assert response.status_code == 202, response.body
    response = decide_review(desk.client, desk.token("ops"), "kyc", who.id, reason="documents match")
    assert response.status_code == 200, response.body


def add_payout_account(who: Person, holder: str = "张三", account: str = "6222 0200 0000 1234") -> None:
    response = who.post("/v1/me/payout-account", {"kind": "bank", "account": account, "holder": holder})
    assert response.status_code == 200, response.body


def ready_to_withdraw(desk: Desk, who: Person, amount_fen: int) -> None:
    """Approved KYC, a payout account in the verified name and ``amount_fen`` of aibi."""
    verify_identity(desk, who)
    add_payout_account(who)
    if amount_fen:
        give_aibi(desk, who, amount_fen)


def open_window(desk: Desk, starts_at: datetime, ends_at: datetime, cap: int | None = None) -> HttpResponse:
    body: dict[str, Any] = {"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()}
    if cap is not None:
        body["max_points_per_member"] = cap
    return desk.post("/v1/admin/exchange-windows", "ops", body)


def signed(
    client: Client, stack: Container, path: str, payload: dict[str, Any] | None = None, *, raw: bytes | None = None
) -> HttpResponse:
    """A call from the shop, signed like ``/v1/events`` (README "Signed requests")."""
    body = raw if raw is not None else json.dumps(payload if payload is not None else {}).encode()
    return post_signed(client, stack, path, body)


def error_code(response: HttpResponse) -> str:
    """The contract's error code, after checking the whole error shape."""
    body = response.json
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str), body
    return body["error"]["code"]


def assert_reconciled() -> dict[str, Any]:
    report = reconcile()
    assert report["ok"], report
    return report
