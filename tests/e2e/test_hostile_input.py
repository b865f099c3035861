"""Hostile input, table-driven: every answer is a 4xx in the contract's shape, no answer is
ever a 5xx, and a refused request changes nothing in the table."""

from __future__ import annotations

import json

import pytest

from tests.builders import (
    admin_token,
    assert_error,
    forbid_server_errors,
    me,
    new_phone,
    new_staff,
    register,
    table_items,
)

PHONE = "+8613912345678"
KYC_ID = "11010519491231002X"

# route -> a valid body (what the hostile variants are derived from) and its optional fields
PUBLIC = {
    ("POST", "/v1/auth/otp"): ({"phone": PHONE, "purpose": "register"}, set()),
    ("POST", "/v1/auth/register"): (
        {"phone": PHONE, "code": "123456", "referrer_code": "123456782"},
        {"referrer_code"},
    ),
    ("POST", "/v1/auth/login"): ({"phone": PHONE, "code": "123456"}, set()),
    ("POST", "/v1/auth/refresh"): ({"refresh_token": "family.secret"}, set()),
    ("POST", "/v1/staff/login"): ({"phone": PHONE, "code": "123456", "totp": "123456"}, set()),
}
MEMBER = {
    ("PATCH", "/v1/me"): (
        {"name": "张三", "birthday": "1990-01-01", "region": "杭州", "babies": [{"birthday": "2025-01-01"}]},
        {"name", "birthday", "region", "babies"},
    ),
    ("POST", "/v1/me/referrer"): ({"code": "123456782"}, set()),
    ("POST", "/v1/me/referrals"): ({"phone": PHONE}, set()),
    ("POST", "/v1/me/kyc"): ({"real_name": "张三", "id_number": KYC_ID}, set()),
    ("POST", "/v1/me/nutritionist"): ({"certificate_no": "C-1", "issuer": "学会", "issued_on": "2024-01-01"}, set()),
    ("POST", "/v1/me/close"): ({"reason": "bye", "confirmation": "0" * 24}, set()),
}

NOT_JSON_OBJECTS = [
    b"{",
    b"[]",
    b"null",
    b'"text"',
    b"42",
    b"phone=1&code=2",
    b"\xff\xfe\xfd\x00",
    b'{"phone": NaN}',
    b"[" * 4000 + b"]" * 4000,
    b'{"phone": "\\ud800"}',
    b"{'phone': 'single quotes'}",
]
WRONG_TYPES = [12345, 1.5, True, None, [], {}, ["x"]]
HUGE = "9" * 5000


@pytest.fixture
def guarded(client):
    """The client, failing the test on any 5xx answer."""
    return forbid_server_errors(client)


def hostile_bodies(template: dict, optional: set[str]) -> list[tuple[str, bytes]]:
    """``(what, raw body)``: malformed JSON, wrong types, unknown and missing fields, huge strings."""
    cases = [(f"not a JSON object: {raw[:20]!r}", raw) for raw in NOT_JSON_OBJECTS]
    if not optional >= set(template):
        cases.append(("empty body", b""))
    for field, valid in template.items():
        for value in WRONG_TYPES:
            if value is None and field in optional:
                continue
            if isinstance(valid, list) and value == []:
                continue
            cases.append((f"{field} as {value!r}", json.dumps({**template, field: value}).encode()))
        if isinstance(valid, str):
            cases.append((f"{field} huge", json.dumps({**template, field: HUGE}).encode()))
        if field not in optional:
            cases.append((f"{field} missing", json.dumps({k: v for k, v in template.items() if k != field}).encode()))
    cases.append(("unknown field", json.dumps({**template, "is_admin": True}).encode()))
    cases.append(("field name in other case", json.dumps({k.upper(): v for k, v in template.items()}).encode()))
    return cases


def assert_all_refused_and_nothing_changed(client, c, method, path, cases, token=None, status=400):
    before = table_items(c)
    for what, raw in cases:
        answer = client.request(method, path, body=raw, headers={"content-type": "application/json"}, token=token)
        assert answer.status_code == status, (what, answer.status_code, answer.body[:300])
        assert_error(answer, status)
    assert table_items(c) == before


@pytest.mark.parametrize(("route", "spec"), PUBLIC.items(), ids=lambda v: v[1] if isinstance(v, tuple) else "")
def test_malformed_bodies_on_public_routes_are_400_and_change_nothing(guarded, stack, route, spec):
    method, path = route
    assert_all_refused_and_nothing_changed(guarded, stack, method, path, hostile_bodies(*spec))


@pytest.mark.parametrize(("route", "spec"), MEMBER.items(), ids=lambda v: v[1] if isinstance(v, tuple) else "")
def test_malformed_bodies_on_member_routes_are_400_and_change_nothing(guarded, stack, route, spec):
    member = register(guarded, stack)
    method, path = route
    view = me(guarded, member)
    assert_all_refused_and_nothing_changed(guarded, stack, method, path, hostile_bodies(*spec), member.access_token)
    assert me(guarded, member) == view


def test_malformed_bodies_on_staff_routes_are_400_and_change_nothing(guarded, stack):
    member = register(guarded, stack)
    admin = admin_token(guarded, stack)
    routes = {
        ("POST", f"/v1/admin/members/{member.member_id}/freeze"): ({"reason": "fraud"}, set()),
        ("POST", "/v1/admin/staff"): ({"phone": new_phone(), "roles": ["ops"], "name": "王五"}, {"name"}),
        ("PUT", "/v1/admin/staff/someone/roles"): ({"roles": ["ops"], "reason": "moved"}, set()),
    }
    for (method, path), spec in routes.items():
        assert_all_refused_and_nothing_changed(guarded, stack, method, path, hostile_bodies(*spec), admin)
    for roles in (["root"], [], "admin", ["admin", "admin", "ops", "finance", "auditor"]):
        assert_all_refused_and_nothing_changed(
            guarded,
            stack,
            "POST",
            "/v1/admin/staff",
            [(f"roles {roles}", json.dumps({"phone": PHONE, "roles": roles}).encode())],
            admin,
        )


# --- rule-level refusals of hostile strings: 4xx after parsing, still no change ----------------------
INJECTIONS = ["' OR '1'='1", "<script>alert(1)</script>", "1; DROP TABLE members", "${jndi:ldap://x/a}", "\u202e0000"]


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_strings_in_identity_fields_are_refused_by_the_rules(guarded, stack, value):
    member = register(guarded, stack)
    admin = admin_token(guarded, stack)
    ops = new_staff(guarded, stack, "ops", admin=admin).access_token
    cases = [
        ("POST", "/v1/auth/otp", {"phone": value, "purpose": "login"}, None, 422, "invalid_phone"),
        (
            "POST",
            "/v1/auth/register",
            {"phone": PHONE, "code": "123456", "referrer_code": value},
            None,
            401,
            "invalid_code",
        ),
        ("POST", "/v1/auth/login", {"phone": member.phone, "code": value[:16]}, None, 401, "invalid_code"),
        ("POST", "/v1/auth/refresh", {"refresh_token": value + ".x"}, None, 401, None),
        ("PATCH", "/v1/me", {"name": value}, member.access_token, 422, "invalid_name"),
        ("POST", "/v1/me/referrer", {"code": value}, member.access_token, 422, "unknown_referrer"),
        ("POST", "/v1/me/referrals", {"phone": value}, member.access_token, 422, "invalid_phone"),
        ("POST", "/v1/me/kyc", {"real_name": value, "id_number": KYC_ID}, member.access_token, 422, "invalid_name"),
        ("POST", "/v1/me/kyc", {"real_name": "张三", "id_number": value}, member.access_token, 422, None),
        (
            "POST",
            "/v1/admin/staff",
            {"phone": new_phone(), "roles": ["ops"], "name": value},
            admin,
            422,
            "invalid_name",
        ),
    ]
    before = table_items(stack)
    for method, path, body, token, status, code in cases:
        answer = guarded.request(method, path, json_body=body, token=token)
        assert_error(answer, status, code)
    # the same strings as path parameters and query values
    for path in (
        f"/v1/admin/members/{value}/freeze",
        f"/v1/admin/kyc/{value}/approve",
        f"/v1/admin/nutritionists/{value}/reject",
    ):
        assert_error(guarded.post(path.replace(" ", "%20"), json_body={"reason": "x"}, token=ops), 404)
    assert table_items(stack) == before


@pytest.mark.parametrize(
    "name",
    ["张三😀", "张\u200b三", "a" * 51, "张三\u0000", "Ä\u0301\u0301\u0301\u0301" * 11, "\ufeff"],
)
def test_unicode_edge_names_are_refused_and_the_profile_stays(guarded, stack, name):
    member = register(guarded, stack)
    guarded.patch("/v1/me", token=member.access_token, json_body={"name": "王五"})
    view = me(guarded, member)
    answer = guarded.patch("/v1/me", token=member.access_token, json_body={"name": name})
    assert answer.status_code in (400, 422)
    assert_error(answer, answer.status_code)
    assert me(guarded, member) == view


def test_real_unicode_names_round_trip_masked(guarded, stack):
    member = register(guarded, stack)
    for name, masked in (("阿依古丽·买买提", "阿*******"), ("Zoë O'Brien", "Z**********"), ("𠀋一", "𠀋*")):
        answer = guarded.patch("/v1/me", token=member.access_token, json_body={"name": name})
        assert answer.status_code == 200, answer.body
        assert answer.json["profile"]["name"] == masked


# --- the HTTP envelope --------------------------------------------------------------------------------
def test_a_body_over_16_kib_is_413(guarded, stack):
    member = register(guarded, stack)
    big = json.dumps({"phone": PHONE, "purpose": "register", "pad": "x" * 17_000}).encode()
    before = table_items(stack)
    assert_error(guarded.post("/v1/auth/otp", body=big, headers={"content-type": "application/json"}), 413)
    big_patch = json.dumps({"name": "张" * 6000}).encode()
    assert_error(
        guarded.patch(
            "/v1/me", body=big_patch, headers={"content-type": "application/json"}, token=member.access_token
        ),
        413,
    )
    assert_error(guarded.get("/v1/me", body=b"x" * 17_000, token=member.access_token), 413)
    assert table_items(stack) == before


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/json"]
)
def test_a_body_that_is_not_declared_json_is_415(guarded, stack, content_type):
    body = json.dumps({"phone": PHONE, "purpose": "register"}).encode()
    before = table_items(stack)
    answer = guarded.post("/v1/auth/otp", body=body, headers={"content-type": content_type})
    assert_error(answer, 415, "unsupported_media_type")
    assert table_items(stack) == before


def test_json_with_a_charset_is_fine(guarded, stack):
    body = json.dumps({"phone": PHONE, "purpose": "register"}).encode()
    answer = guarded.post("/v1/auth/otp", body=body, headers={"content-type": "application/json; charset=utf-8"})
    assert answer.status_code == 202


@pytest.mark.parametrize("path", ["/v1/nope", "/v2/me", "/v1/auth", "/", "/v1/me/points/nope", "/v1/admin"])
def test_an_unknown_route_is_404(guarded, stack, path):
    assert_error(guarded.get(path), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v1/me"),
        ("GET", "/v1/auth/otp"),
        ("PUT", "/v1/auth/register"),
        ("POST", "/v1/health"),
        ("PATCH", "/v1/admin/audit"),
        ("DELETE", "/v1/admin/members/x/freeze"),
    ],
)
def test_a_wrong_method_is_405(guarded, stack, method, path):
    assert_error(guarded.request(method, path), 405, "method_not_allowed")


def test_hostile_path_and_query_values_are_4xx(guarded, stack):
    member = register(guarded, stack)
    admin = admin_token(guarded, stack)
    before = table_items(stack)
    long_id = "A" * 3000
    for path in (
        f"/v1/admin/members/{long_id}/freeze",
        f"/v1/admin/kyc/{long_id}/approve",
        "/v1/admin/members/%00/freeze",
        "/v1/admin/members/%E4%BC%9A%E5%91%98/unfreeze",
        "/v1/admin/members/..%2F..%2Fv1%2Fme/freeze",
    ):
        assert_error(guarded.post(path, json_body={"reason": "x"}, token=admin), 404)
    for path, status in (
        ("/v1/dev/sms?phone=garbage", 422),
        ("/v1/dev/sms", 400),
        ("/v1/dev/sms?phone=%27%20OR%201%3D1", 422),
        (f"/v1/dev/sms?phone={'1' * 5000}", 400),
        ("/v1/admin/audit?day=2026-13-01", 400),
        (f"/v1/admin/audit?target_id={'x' * 100}", 400),
        (f"/v1/admin/audit?target_id={long_id[:60]}", 200),
        (f"/v1/admin/audit?cursor={'x' * 3000}", 400),
        ("/v1/me/qr?format=pdf", 400),
    ):
        token = member.access_token if path.startswith("/v1/me") else admin
        answer = guarded.get(path, token=token)
        assert answer.status_code == status, (path[:80], answer.status_code, answer.body)
        if status >= 400:
            assert_error(answer, status)
    assert table_items(stack) == before


def test_hostile_authorization_headers_are_401(guarded, stack):
    for header in ("Bearer " + "a" * 10_000, "Bearer", "Bearer  ", "bearer x.y.z", "Token abc", "\u00e9\u00e9"):
        assert_error(guarded.get("/v1/me", headers={"Authorization": header}), 401)
