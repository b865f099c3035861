"""Asking for a code tells nobody whether a number is a member's or a staff member's:
a registered and an unregistered number get the same status, body and ``Retry-After``
from the code route, the resend wait, the daily cap and the login that follows. Only the
SMS differs: it goes to the number that can use it."""

from __future__ import annotations

import pytest

from chalicelib.local.queues import drain
from tests.builders import forbid_server_errors, new_phone, new_staff, register

SIGN_IN = {
    "login": ("/v1/auth/login", {}),
    "staff": ("/v1/staff/login", {"totp": "000000"}),
}


@pytest.fixture(autouse=True)
def _no_server_errors(client):
    forbid_server_errors(client)


@pytest.fixture(params=["login", "staff"])
def numbers(request, client, stack, clock):
    """(purpose, a number that may use a code of that purpose, one that may not)."""
    purpose = request.param
    known = register(client, stack).phone if purpose == "login" else new_staff(client, stack, "ops").phone
    clock.advance(seconds=61)
    return purpose, known, new_phone()


def answers(client, purpose: str, *phones: str) -> list[tuple[int, object, str | None]]:
    replies = [client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": purpose}) for phone in phones]
    return [(reply.status_code, reply.json, reply.headers.get("retry-after")) for reply in replies]


def test_the_code_request_and_the_resend_wait_answer_alike(client, stack, clock, numbers):
    purpose, known, unknown = numbers
    earlier = len(stack.outbox.messages_to(known))  # the code that registered or signed it in
    first, same = answers(client, purpose, known, unknown)
    assert first == same == (202, {"expires_in": 300, "resend_after": 60}, None)
    clock.advance(seconds=20)
    second, same = answers(client, purpose, known, unknown)
    assert second == same
    assert second[0] == 429 and second[1]["error"]["code"] == "rate_limited" and second[2] == "40"
    drain()
    assert len(stack.outbox.messages_to(known)) == earlier + 1
    assert stack.outbox.messages_to(unknown) == []


def test_a_wrong_code_spends_a_try_alike(client, stack, clock, numbers, monkeypatch):
    purpose, known, unknown = numbers
    monkeypatch.setattr(stack, "randbelow", lambda bound: 123_456)
    answers(client, purpose, known, unknown)
    route, extra = SIGN_IN[purpose]
    tries = [client.post(route, json_body={"phone": phone, "code": "000000", **extra}) for phone in (known, unknown)]
    assert tries[0].status_code == tries[1].status_code == 401
    assert tries[0].json == tries[1].json
    assert tries[0].json["error"]["code"] == "invalid_code"
    assert "attempts_left" not in tries[0].json["error"]  # sign-in never counts tries aloud


def test_the_daily_cap_answers_alike(client, stack, clock, numbers):
    purpose, known, unknown = numbers
    for _ in range(9):  # the code that registered or signed in the known number counted once already
        assert answers(client, purpose, known)[0][0] == 202
        assert answers(client, purpose, unknown)[0][0] == 202
        clock.advance(seconds=61)
    assert answers(client, purpose, unknown)[0][0] == 202  # the stranger's tenth
    clock.advance(seconds=61)
    capped, same = answers(client, purpose, known, unknown)
    assert capped == same and capped[0] == 429 and capped[1]["error"]["code"] == "rate_limited"
