"""The authorizer's access table equals the route declarations, and the authorizer's
policy comes from it: a route added or re-roled without ``make routes`` fails here."""

from __future__ import annotations

import pytest

from chalicelib.adapters.tokens import Principal
from chalicelib.entrypoints import access
from chalicelib.entrypoints.authorizer import allowed_routes


def _declared() -> list[dict[str, object]]:
    from app import app  # noqa: F401  (declares every route)
    from chalicelib.entrypoints.http import ROUTES

    return access.as_rows([access.RouteAccess(spec.path, spec.method, spec.access) for spec in ROUTES])


def test_the_committed_table_is_the_declared_access_of_every_bearer_route():
    assert access.TABLE.read_text(encoding="utf-8") == access.render(_declared()), "run `make routes`"


def test_a_member_token_opens_member_routes_and_no_staff_route():
    routes = {(r.path, method) for r in allowed_routes(Principal("m-1", "member", frozenset())) for method in r.methods}

    assert ("/v1/me", "GET") in routes
    assert not any(path.startswith("/v1/admin") for path, _ in routes)


def test_a_finance_token_opens_withdrawal_approval_and_not_staff_administration():
    routes = {
        (r.path, method)
        for r in allowed_routes(Principal("s-1", "staff", frozenset({"finance"})))
        for method in r.methods
    }

    assert ("/v1/admin/withdrawals/*/approve", "POST") in routes
    assert ("/v1/admin/staff", "POST") not in routes
    assert not any(path.startswith("/v1/me") for path, _ in routes)


def test_a_signed_route_cannot_be_declared_without_its_signature_check():
    from chalice import Blueprint

    from chalicelib.entrypoints.access import signed
    from chalicelib.entrypoints.http import endpoint

    with pytest.raises(ValueError, match="declared signed but has no verify"):
        endpoint(Blueprint("unchecked"), "/v1/unchecked", "POST", access=signed("shop:x"), summary="x", tag="x")
