"""The local stage's business clock can be moved over HTTP (local stage only), so a person
can rehearse a settlement on `make dev`; TOTP codes and event signatures keep real time."""

import re
import time

import pyotp
import pytest

from chalicelib.bootstrap import install
from chalicelib.local import stage
from chalicelib.local.gateway import Client
from chalicelib.local.queues import drain
from tests.builders import LOCAL_ACCEPTED, job_outcome, keyed, new_phone, post_event


@pytest.fixture
def dev():
    """The stage as `make dev` builds it: no test clock, so a shifted business clock."""
    from app import app

    aws, container = stage.start()
    try:
        yield Client(app), container
    finally:
        install(None)
        aws.stop()


def code(client, phone):
    drain()
    text = client.get(f"/v1/dev/sms?phone={phone.replace('+', '%2B')}").json["messages"][-1]["text"]
    return re.search(r"\b(\d{6})\b", text).group(1)


def register(client, referrer_code=None):
    phone = new_phone()
    assert client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": "register"}).status_code == 202
    body = {"phone": phone, "code": code(client, phone), "accepted": LOCAL_ACCEPTED}
    body |= ({"referrer_code": referrer_code} if referrer_code else {})
    response = client.post("/v1/auth/register", json_body=body)
    assert response.status_code == 201, response.body
    return response.json


def admin(client, c, step_ahead=0):
    phone = c.settings.local_admin_phone
    client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": "staff"})
    # real time, as an authenticator app; a second sign-in within 30 s takes the next step,
    # since a step is never accepted twice (one step of drift is allowed)
    totp = pyotp.TOTP(c.settings.local_admin_totp_secret).at(time.time() + 30 * step_ahead)
    response = client.post("/v1/staff/login", json_body={"phone": phone, "code": code(client, phone), "totp": totp})
    assert response.status_code == 200, response.body
    return response.json["access_token"]


def test_a_settlement_rehearsed_on_the_local_stage_by_moving_its_clock(dev):
    client, c = dev
    moved = client.post("/v1/dev/clock", json_body={"now": "2026-10-20T10:00:00+08:00"})
    assert moved.status_code == 200 and moved.json["now"].startswith("2026-10-20T02:00")
    top = register(client)
    left, right = register(client, top["member_code"]), register(client, top["member_code"])
    token = admin(client, c)
    assert (
        client.post(
            "/v1/admin/adjustments",
            token=token,
            json_body={"member_id": top["member_id"], "points": 2_000, "reason": "one star"},
            headers=keyed(),
        ).status_code
        == 201
    )
    for member, order, fen in ((left, "o-left", 100_000), (right, "o-right", 40_000)):
        response = post_event(  # signed with the real clock, as the shop signs
            client,
            c,
            "order.paid",
            member["member_id"],
            {"order_id": order, "gross_fen": fen, "paid_fen": fen},
            occurred_at="2026-10-20T09:00:00+08:00",
        )
        assert response.status_code == 202, response.body

    client.post("/v1/dev/clock", json_body={"now": "2026-11-08T10:00:00+08:00"})
    token = admin(client, c, step_ahead=1)  # business time moved on: the first token has expired
    run = job_outcome(client, token, "settle-monthly", {"period": "2026-10"}).json
    # top's groups: left 100,000 fen (the largest), right 40,000 -> 5 % of 40,000 = 2,000 fen
    assert run["totals"]["rewards_fen"] == 2_000


def test_the_clock_is_not_movable_outside_a_shifted_local_clock(client):
    # the test stack runs on a test clock: the route answers 404 like any unknown thing
    assert client.post("/v1/dev/clock", json_body={"now": "2026-10-20T10:00:00+08:00"}).status_code == 404


def test_codes_and_tokens_keep_real_time_when_the_business_clock_moves(dev):
    client, _ = dev
    phone = new_phone()
    assert client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": "register"}).status_code == 202
    client.post("/v1/dev/clock", json_body={"now": "2026-10-20T10:00:00+08:00"})
    # the 60 s between codes is real time: a month back in business time changes nothing
    assert client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": "register"}).status_code == 429
    body = {"phone": phone, "code": code(client, phone), "accepted": LOCAL_ACCEPTED}
    registered = client.post("/v1/auth/register", json_body=body)
    assert registered.status_code == 201, registered.body
    client.post("/v1/dev/clock", json_body={"now": "2027-03-01T10:00:00+08:00"})
    # months later in business time, the 15-minute access token is still valid
    me = client.get("/v1/me", token=registered.json["access_token"])
    assert me.status_code == 200 and me.json["points"]["available"] == 60
