"""The OpenAPI document the API serves lists exactly the routes Chalice registered."""

from __future__ import annotations

from app import app


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
        ("/v1/admin/members/{member_id}/freeze", "post"),
        ("/v1/admin/members/{member_id}/unfreeze", "post"),
        ("/v1/admin/audit", "get"),
    ]:
        assert method in paths.get(path, {}), f"{method.upper()} {path} is not documented"
    assert "unknown_referrer" in paths["/v1/auth/register"]["post"]["responses"]["422"]["description"]
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
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
