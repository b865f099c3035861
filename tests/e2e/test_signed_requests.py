"""Signed requests over HTTP (README "Signed requests"): a captured request replays on
nothing but itself, each key calls only what its scopes grant, a key's secrets rotate,
and each key has its own event ids."""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.adapters.secrets import SecretsManagerSource
from tests.builders import points_of, post_event, post_signed, register, signed_headers, table_items
from tests.wallet_builders import Desk, error_code, give_aibi, person, signed

PAYMENTS = "/v1/shop/aibi-payments"


@pytest.fixture
def desk(client, stack) -> Desk:
    return Desk(client, stack)


def captured(client, stack, member, order_id: str, amount_fen: int) -> None:
    held = signed(client, stack, PAYMENTS, {"order_id": order_id, "member_id": member.id, "amount_fen": amount_fen})
    assert held.status_code == 201, held.body
    assert signed(client, stack, f"{PAYMENTS}/{order_id}/capture").status_code == 200


def replay(client, path: str, body: bytes, headers: dict[str, str]):
    return client.post(path, body=body, headers=headers)


def test_a_refund_replayed_to_another_order_is_refused_and_credits_nothing(client, stack, desk):
    member = person(client, stack)
    give_aibi(desk, member, 10_000)
    captured(client, stack, member, "order-a", 3_000)
    captured(client, stack, member, "order-b", 3_000)
    body = json.dumps({"refund_id": "r-1", "amount_fen": 3_000}).encode()
    headers = signed_headers(stack, "POST", f"{PAYMENTS}/order-a/refunds", body)
    assert replay(client, f"{PAYMENTS}/order-a/refunds", body, headers).status_code == 201
    assert member.wallet() == {"balance_fen": 7_000, "held_fen": 0}

    # the same bytes and headers against order B, inside the 300 s window
    refused = replay(client, f"{PAYMENTS}/order-b/refunds", body, headers)
    assert refused.status_code == 401 and error_code(refused) == "invalid_signature"
    assert member.wallet() == {"balance_fen": 7_000, "held_fen": 0}
    refreshed = signed(client, stack, PAYMENTS, {"order_id": "order-b", "member_id": member.id, "amount_fen": 3_000})
    assert refreshed.json["refunded_fen"] == 0


def test_an_empty_body_capture_replayed_to_another_order_or_route_is_refused(client, stack, desk):
    member = person(client, stack)
    give_aibi(desk, member, 10_000)
    for order_id in ("order-a", "order-b"):
        hold = {"order_id": order_id, "member_id": member.id, "amount_fen": 2_000}
        assert signed(client, stack, PAYMENTS, hold).status_code == 201
    headers = signed_headers(stack, "POST", f"{PAYMENTS}/order-a/capture", b"")
    assert replay(client, f"{PAYMENTS}/order-a/capture", b"", headers).status_code == 200

    for path in (f"{PAYMENTS}/order-b/capture", f"{PAYMENTS}/order-b/void", f"{PAYMENTS}/order-a/void"):
        refused = replay(client, path, b"", headers)
        assert refused.status_code == 401 and error_code(refused) == "invalid_signature", path
    assert member.wallet() == {"balance_fen": 6_000, "held_fen": 2_000}
    hold_b = {"order_id": "order-b", "member_id": member.id, "amount_fen": 2_000}
    assert signed(client, stack, PAYMENTS, hold_b).json["state"] == "pending"


def test_an_event_body_replayed_to_a_shop_route_is_refused(client, stack, desk):
    member = person(client, stack)
    give_aibi(desk, member, 10_000)
    body = json.dumps({"order_id": "order-a", "member_id": member.id, "amount_fen": 1_000}).encode()
    headers = signed_headers(stack, "POST", "/v1/events", body)
    refused = replay(client, PAYMENTS, body, headers)
    assert refused.status_code == 401 and error_code(refused) == "invalid_signature"
    assert member.wallet() == {"balance_fen": 10_000, "held_fen": 0}


def test_a_changed_query_string_is_refused_and_the_signed_one_accepted_in_any_order(client, stack, desk):
    member = person(client, stack)
    give_aibi(desk, member, 10_000)
    hold = {"order_id": "order-a", "member_id": member.id, "amount_fen": 1_000}
    assert signed(client, stack, PAYMENTS, hold).status_code == 201
    headers = signed_headers(stack, "POST", f"{PAYMENTS}/order-a/capture?b=2&a=1", b"")
    for changed in ("", "?b=2", "?a=1&b=3", "?a=1&b=2&c=3"):
        refused = replay(client, f"{PAYMENTS}/order-a/capture{changed}", b"", headers)
        assert refused.status_code == 401 and error_code(refused) == "invalid_signature", changed
    assert member.wallet() == {"balance_fen": 9_000, "held_fen": 1_000}  # still only held
    resent = replay(client, f"{PAYMENTS}/order-a/capture?a=1&b=2", b"", headers)
    assert resent.status_code == 200 and resent.json["state"] == "posted"
    assert member.wallet() == {"balance_fen": 9_000, "held_fen": 0}


def test_a_key_without_the_scope_is_refused_whatever_it_signs(client, stack, desk):
    game = {"key_id": stack.settings.local_game_key_id, "secret": stack.settings.local_game_secret}
    member = person(client, stack)
    give_aibi(desk, member, 10_000)
    before = points_of(client, member.member)["available"]

    paid = {"order_id": "g-1", "gross_fen": 10_000, "paid_fen": 10_000}
    refused = post_event(client, stack, "order.paid", member.id, paid, **game)
    assert refused.status_code == 401 and error_code(refused) == "missing_scope"
    assert refused.json["error"]["scope"] == "events:order.paid"
    hold = json.dumps({"order_id": "g-2", "member_id": member.id, "amount_fen": 1_000}).encode()
    refused = post_signed(client, stack, PAYMENTS, hold, **game)
    assert refused.status_code == 401 and error_code(refused) == "missing_scope"
    assert refused.json["error"]["scope"] == "shop:aibi-payments:hold"
    assert points_of(client, member.member)["available"] == before
    assert member.wallet() == {"balance_fen": 10_000, "held_fen": 0}

    # what it is granted works
    assert post_event(client, stack, "challenge.won", member.id, **game).status_code == 202
    assert points_of(client, member.member)["available"] == before + 12


def test_two_keys_sending_the_same_event_id_are_each_applied_once(client, stack):
    member = register(client, stack)
    before = points_of(client, member)["available"]
    game = {"key_id": stack.settings.local_game_key_id, "secret": stack.settings.local_game_secret}
    occurred_at = stack.now().isoformat()
    for signing in ({}, game, {}, game):  # each key twice: the second time is that key's retry
        sent = post_event(
            client, stack, "challenge.won", member.member_id, event_id="e-same", occurred_at=occurred_at, **signing
        )
        assert sent.status_code == 202, sent.body
    answers = [
        post_event(
            client, stack, "challenge.won", member.member_id, event_id="e-same", occurred_at=occurred_at, **s
        ).json
        for s in ({}, game)
    ]
    assert answers == [{"status": "duplicate"}, {"status": "duplicate"}]
    assert points_of(client, member)["available"] == before + 2 * 12
    records = [item["pk"]["S"] for item in table_items(stack) if item["pk"]["S"].startswith("IDEM#event#")]
    assert sorted(records) == ["IDEM#event#local-game#e-same", "IDEM#event#local-shop#e-same"]


def test_the_shops_event_replayed_under_another_key_is_judged_on_that_keys_scopes(client, stack):
    member = register(client, stack)
    paid = {"order_id": "o-1", "gross_fen": 10_000, "paid_fen": 10_000}
    assert post_event(client, stack, "order.paid", member.member_id, paid, event_id="e-1").status_code == 202
    game = {"key_id": stack.settings.local_game_key_id, "secret": stack.settings.local_game_secret}
    again = post_event(client, stack, "order.paid", member.member_id, paid, event_id="e-1", **game)
    assert again.status_code == 401 and error_code(again) == "missing_scope"


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-timestamp", "1" * 5_000),
        ("x-timestamp", "١٧٩٥٣٩٩٢٠٠"),
        ("x-timestamp", "soon"),
        ("x-integration-key", "k" * 5_000),
        ("x-signature", "f" * 5_000),
    ],
    ids=["5,000-digit timestamp", "non-ASCII timestamp", "word timestamp", "oversized key id", "oversized signature"],
)
@pytest.mark.parametrize("path", ["/v1/events", PAYMENTS, f"{PAYMENTS}/order-a/capture"])
def test_an_oversized_or_foreign_header_is_401_not_500(client, stack, header, value, path):
    body = b"{}"
    headers = {**signed_headers(stack, "POST", path, body), header: value}
    refused = client.post(path, body=body, headers=headers)
    assert refused.status_code == 401 and error_code(refused) == "invalid_signature"


def test_a_rotated_key_accepts_both_secrets_then_only_the_one_kept(client, stack):
    member = register(client, stack)
    key_id, old = stack.settings.local_integration_key_id, stack.settings.local_integration_secret
    new = "the-next-local-shop-secret"
    secrets_manager = boto3.client("secretsmanager", region_name=stack.settings.region)
    # re-read on every request, as a warm Lambda does once its copy is max_age_s old
    stack.secrets = SecretsManagerSource(secrets_manager, max_age_s=0)

    def keep(*secrets: str) -> None:
        keys = {key_id: {"secrets": list(secrets), "scopes": ["events:*", "shop:*"]}}
        secrets_manager.put_secret_value(
            SecretId=stack.settings.integration_keys_secret_id, SecretString=json.dumps(keys)
        )

    keep(old, new)
    for number, secret in enumerate((old, new)):
        sent = post_event(
            client, stack, "survey.completed", member.member_id, {"survey_id": f"s-{number}"}, secret=secret
        )
        assert sent.status_code == 202, sent.body

    keep(new)
    refused = post_event(client, stack, "survey.completed", member.member_id, {"survey_id": "s-2"}, secret=old)
    assert refused.status_code == 401 and error_code(refused) == "invalid_signature"
    sent = post_event(client, stack, "survey.completed", member.member_id, {"survey_id": "s-3"}, secret=new)
    assert sent.status_code == 202
