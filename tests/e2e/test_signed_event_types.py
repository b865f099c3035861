"""Each signed event type is declared once (``entrypoints.signed_events``): the body the
route parses, the handlers, the integration-key scopes and the OpenAPI document name the
same types, which are the contract's."""

from __future__ import annotations

import json

from chalicelib.entrypoints.signed_events import BY_TYPE, SIGNED_EVENTS, SignedEvent
from tests.builders import post_event, register

# API.md "Signed events from trusted systems" (fixed names) and the mall's two (README "Mall")
CONTRACT_TYPES = {
    "order.paid",
    "order.refunded",
    "challenge.won",
    "content.posted",
    "survey.completed",
    "event.checked_in",
    "lecture.given",
    "guidance.committed",
}
MALL_TYPES = {"payment.succeeded", "payment.failed"}

# a valid ``data`` of every type; a type declared without one here fails the first test
DATA = {
    "order.paid": {"order_id": "o-1", "gross_fen": 12_800, "paid_fen": 9_900},
    "order.refunded": {"order_id": "o-1", "refund_fen": 500},
    "challenge.won": {},
    "content.posted": {"kind": "review"},
    "survey.completed": {"survey_id": "s-1"},
    "event.checked_in": {"event_id": "ev-1"},
    "lecture.given": {"lecture_id": "l-1"},
    "guidance.committed": {"client_member_id": "m-2"},
    "payment.succeeded": {"order_id": "mo-1"},
    "payment.failed": {"order_id": "mo-1"},
}


def event(type_: str) -> dict:
    return {
        "event_id": f"e-{type_}",
        "type": type_,
        "member_id": "m-1",
        "occurred_at": "2026-11-23T10:00:00+08:00",
        "data": DATA[type_],
    }


def test_the_schemas_the_handlers_and_the_scopes_name_the_same_types_those_of_the_contract(client):
    body = client.get("/v1/openapi.json").json["components"]["schemas"]
    union = body["SignedEvent"]
    branches = {body[ref["$ref"].rsplit("/", 1)[-1]]["properties"]["type"]["const"] for ref in union["oneOf"]}
    documented = set(union["discriminator"]["mapping"])
    handled = {declared.type for declared in SIGNED_EVENTS if callable(declared.handler)}
    assert branches == documented == handled == set(BY_TYPE) == set(DATA) == CONTRACT_TYPES | MALL_TYPES
    assert len(SIGNED_EVENTS) == len(BY_TYPE)
    scopes = {declared.scope for declared in SIGNED_EVENTS}
    assert scopes == {f"events:{type_}" for type_ in CONTRACT_TYPES | MALL_TYPES}


def test_each_type_is_parsed_into_its_own_data_schema():
    for type_, declared in BY_TYPE.items():
        parsed = SignedEvent.model_validate_json(json.dumps(event(type_))).root
        assert parsed.type == type_
        assert type(parsed.data) is declared.data


def documented_codes(client) -> dict[int, set[str]]:
    responses = client.get("/v1/openapi.json").json["paths"]["/v1/events"]["post"]["responses"]
    codes = {}
    for status, answer in responses.items():
        if int(status) >= 400:
            error = answer["content"]["application/json"]["schema"]["allOf"][1]["properties"]["error"]
            codes[int(status)] = set(error["properties"]["code"]["enum"])
    return codes


def test_every_type_reaches_its_handler_and_answers_only_codes_the_route_documents(client, stack):
    member, client_member = register(client, stack), register(client, stack)
    data = {**DATA, "guidance.committed": {"client_member_id": client_member.member_id}}
    documented = documented_codes(client)
    answers = {}
    for type_ in BY_TYPE:  # declaration order: the order is paid before it is refunded
        r = post_event(client, stack, type_, member.member_id, data[type_])
        answers[type_] = (r.status_code, r.json["status"] if r.status_code == 202 else r.json["error"]["code"])
        if r.status_code != 202:
            assert r.json["error"]["code"] in documented[r.status_code], (type_, r.body)
    assert answers == {
        "order.paid": (202, "accepted"),
        "order.refunded": (202, "accepted"),
        "challenge.won": (202, "accepted"),
        "content.posted": (202, "accepted"),
        "survey.completed": (202, "accepted"),
        "event.checked_in": (202, "accepted"),
        "lecture.given": (422, "not_a_nutritionist"),
        "guidance.committed": (422, "not_a_nutritionist"),
        "payment.succeeded": (404, "not_found"),  # no mall order mo-1
        "payment.failed": (404, "not_found"),
    }
