"""The OpenAPI document the API serves lists exactly the routes Chalice registered, is a
valid OpenAPI 3.1 document, and says what the routes do: their error codes, which bodies
are required, the one-of fields."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from app import app
from chalicelib.entrypoints.errors import status_for
from chalicelib.entrypoints.http import ROUTES
from tests.builders import StaffDesk, register, signed_headers


def document(client) -> dict:
    answer = client.get("/v1/openapi.json")
    assert answer.status_code == 200, answer.body
    return answer.json


def test_every_registered_route_and_method_is_documented_and_nothing_else(client):
    doc = document(client)
    registered = {(path, method.lower()) for path, methods in app.routes.items() for method in methods}
    documented = {(path, method) for path, operations in doc["paths"].items() for method in operations}
    assert registered, "no routes registered"
    assert documented == registered


SHOP_SCOPES = {
    ("post", "/v1/shop/aibi-payments"): "shop:aibi-payments:hold",
    ("post", "/v1/shop/aibi-payments/{order_id}/capture"): "shop:aibi-payments:capture",
    ("post", "/v1/shop/aibi-payments/{order_id}/void"): "shop:aibi-payments:void",
    ("post", "/v1/shop/aibi-payments/{order_id}/refunds"): "shop:aibi-payments:refund",
}


def test_the_signed_request_scheme_states_its_canonical_request(client):
    scheme = document(client)["components"]["securitySchemes"]["signature"]
    for part in ("AIBI-HMAC-SHA256-V1", "method", "path", "query", "X-Timestamp", "X-Integration-Key", "SHA-256"):
        assert part in scheme["description"], part


def test_every_operation_has_a_success_answer_and_protected_ones_their_401_and_403(client):
    doc = document(client)
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            route = app.routes[path][method.upper()]
            assert any(status.startswith("2") for status in operation["responses"]), (method, path)
            if route.authorizer is not None:
                assert operation["security"] == [{"bearer": []}], (method, path)
                assert {"401", "403"} <= set(operation["responses"]), (method, path)
            elif path.startswith(("/v1/events", "/v1/shop/")):
                # signed by a trusted system: key id, timestamp and HMAC signature headers; a
                # shop route names the scope its key needs (an event's depends on its type)
                scopes = [] if path == "/v1/events" else [SHOP_SCOPES[(method, path)]]
                assert operation["security"] == [{"integrationKey": [], "timestamp": [], "signature": scopes}]
                assert "missing_scope" in operation["responses"]["401"]["description"], (method, path)
                assert operation["description"].startswith("Integration key scope: "), (method, path)
            else:
                assert operation["security"] == [], (method, path)
            params = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert params == set(route.view_args), (method, path)


def test_the_contracts_identity_calls_are_documented(client):
    paths = document(client)["paths"]
    for path, method in [
        ("/v1/auth/otp", "post"),
        ("/v1/auth/register", "post"),
        ("/v1/auth/login", "post"),
        ("/v1/auth/refresh", "post"),
        ("/v1/staff/login", "post"),
        ("/v1/me", "get"),
        ("/v1/me", "patch"),
        ("/v1/me/qr", "get"),
        ("/v1/me/referrer", "post"),
        ("/v1/me/referrals", "post"),
        ("/v1/me/referrals", "get"),
        ("/v1/me/kyc", "post"),
        ("/v1/admin/kyc/{member_id}/approve", "post"),
        ("/v1/admin/nutritionists/{member_id}/reject", "post"),
        ("/v1/admin/kyc/{member_id}", "get"),
        ("/v1/admin/kyc/{member_id}/reveal", "post"),
        ("/v1/admin/nutritionists/{member_id}/reveal", "post"),
        ("/v1/admin/members/{member_id}/freeze", "post"),
        ("/v1/admin/members/{member_id}/unfreeze", "post"),
        ("/v1/admin/audit", "get"),
    ]:
        assert method in paths.get(path, {}), f"{method.upper()} {path} is not documented"
    assert "unknown_referrer" in error_codes(paths["/v1/auth/register"]["post"], "422")
    assert "409" in paths["/v1/auth/register"]["post"]["responses"]
    assert "image/png" in paths["/v1/me/qr"]["get"]["responses"]["200"]["content"]


def test_every_schema_reference_resolves(client):
    doc = document(client)
    schemas = doc["components"]["schemas"]

    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in set(refs(doc)):
        section, name = re.fullmatch(r"#/components/(schemas|headers)/([^/]+)", ref).groups()
        assert name in (schemas if section == "schemas" else doc["components"]["headers"]), ref


def error_codes(operation: dict, status: str) -> list[str]:
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    assert schema["allOf"][0] == {"$ref": "#/components/schemas/Error"}
    return schema["allOf"][1]["properties"]["error"]["properties"]["code"]["enum"]


def test_the_document_is_valid_openapi_3_1(client):
    validate(document(client))


def test_error_answers_list_their_codes_with_the_common_ones_the_gateway_and_parsing_add(client):
    paths = document(client)["paths"]
    me_patch = paths["/v1/me"]["patch"]
    assert error_codes(me_patch, "400") == ["invalid_request"]
    assert error_codes(me_patch, "401") == ["unauthorized"]
    assert error_codes(me_patch, "403") == ["forbidden", "separate_consent_required"]
    assert set(error_codes(me_patch, "422")) == {"invalid_name", "invalid_profile"}
    assert error_codes(me_patch, "413") == ["payload_too_large"]
    approve = paths["/v1/admin/withdrawals/{withdrawal_id}/approve"]["post"]
    assert "not_found" in error_codes(approve, "404")
    job = paths["/v1/admin/jobs/{job}"]["post"]
    assert set(error_codes(job, "422")) >= {"invalid_job_request"}
    assert "500" not in job["responses"]
    health = paths["/v1/health"]["get"]
    assert set(health["responses"]) == {"200"}


def test_every_answer_documents_the_request_id_and_a_429_its_retry_after(client):
    doc = document(client)
    limited = []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                assert answer["headers"]["X-Request-Id"] == {"$ref": "#/components/headers/X-Request-Id"}
                if status == "429":
                    assert answer["headers"]["Retry-After"] == {"$ref": "#/components/headers/Retry-After"}
                    budget = ["sms_budget_exhausted"] if path in ("/v1/auth/otp", "/v1/me/step-up/code") else []
                    assert error_codes(operation, "429") == ["rate_limited", *budget]
                    limited.append((method, path))
    assert {("post", "/v1/auth/otp"), ("post", "/v1/me/referrals")} <= set(limited)
    assert doc["components"]["headers"]["Retry-After"]["schema"]["type"] == "integer"


def test_every_route_that_reads_the_table_documents_its_503_with_retry_after(client):
    paths = document(client)["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            # the published rules are the code's rules version: nothing is read from the table
            public_document = method == "get" and (
                path in ("/v1/health", "/v1/openapi.json", "/v1/rules") or "docs" in path
            )
            if public_document:
                assert "503" not in operation["responses"], (method, path)
                continue
            answer = operation["responses"]["503"]
            assert answer["headers"]["Retry-After"] == {"$ref": "#/components/headers/Retry-After"}
            expected = ["service_unavailable"] if method == "get" else ["outcome_unknown", "service_unavailable"]
            assert error_codes(operation, "503") == expected, (method, path)
    assert "idempotency_key_required" in error_codes(paths["/v1/admin/mall/items/{item_id}"]["patch"], "400")


def test_an_adjustment_requires_an_idempotency_key_and_says_so_while_other_keys_stay_optional(client):
    paths = document(client)["paths"]
    adjustment = paths["/v1/admin/adjustments"]["post"]
    [key] = [p for p in adjustment["parameters"] if p["name"] == "Idempotency-Key"]
    assert key["required"] is True
    assert "idempotency_key_required" in error_codes(adjustment, "400")
    [exchange_key] = [p for p in paths["/v1/me/exchange"]["post"]["parameters"] if p["name"] == "Idempotency-Key"]
    assert exchange_key["required"] is False


def test_the_problems_of_a_malformed_body_are_in_the_error_schema(client):
    doc = document(client)
    error = doc["components"]["schemas"]["Error"]["properties"]["error"]
    assert error["properties"]["problems"]["items"] == {"$ref": "#/components/schemas/Problem"}
    assert doc["components"]["schemas"]["Problem"]["required"] == ["field", "problem"]
    answer = client.post("/v1/auth/otp", json_body={"phone": 5})
    problems = answer.json["error"]["problems"]
    assert answer.status_code == 400 and {p["field"] for p in problems} == {"phone", "purpose"}


def test_an_adjustment_takes_exactly_one_of_points_and_amount_fen(client):
    schema = document(client)["components"]["schemas"]["AdjustmentRequest"]
    branches = {tuple(branch["required"]): branch["properties"] for branch in schema["oneOf"]}
    assert branches == {
        ("points",): {"points": {"type": "integer", "not": {"const": 0}}, "amount_fen": {"type": "null"}},
        ("amount_fen",): {"amount_fen": {"type": "integer", "not": {"const": 0}}, "points": {"type": "null"}},
    }


def _empty_body_request(client, stack, desk: StaffDesk, member_token: str, spec) -> tuple[int, dict]:
    path = re.sub(r"{\w+}", "nothing-here", spec.path)
    headers = {"content-type": "application/json"}
    token = None
    if spec.access.kind == "member":
        token = member_token
    elif spec.access.kind == "staff":
        token = desk.token(sorted(spec.access.roles)[0] if spec.access.roles else "admin")
    elif spec.access.kind == "signed":
        headers |= signed_headers(stack, spec.method, path, b"")
    answer = client.request(spec.method, path, body=b"", headers=headers, token=token)
    return answer.status_code, answer.json if answer.body else {}


def test_a_request_body_is_required_exactly_where_an_empty_body_is_refused(client, stack):
    """Sends an empty body to every route that takes one, as a principal the route admits,
    and compares what happened with the document's ``requestBody.required``."""
    paths = document(client)["paths"]
    desk = StaffDesk(client, stack)
    member = register(client, stack)
    checked = {}
    for spec in ROUTES:
        if spec.body is None or spec.path not in paths:
            continue
        status, body = _empty_body_request(client, stack, desk, member.access_token, spec)
        assert status < 500, (spec.method, spec.path, body)
        error = body.get("error", {}) if isinstance(body, dict) else {}
        refusals = {(400, "invalid_request"), (status_for(spec.invalid_body), spec.invalid_body.code)}
        refused = (status, error.get("code")) in refusals and bool(error.get("problems"))
        required = paths[spec.path][spec.method.lower()]["requestBody"]["required"]
        checked[(spec.method, spec.path)] = (refused, required)
    assert len(checked) > 40
    assert {route: pair for route, pair in checked.items() if pair[0] != pair[1]} == {}
    assert checked[("PATCH", "/v1/me")] == (True, True)
    assert checked[("POST", "/v1/admin/jobs/{job}")] == (False, False)
