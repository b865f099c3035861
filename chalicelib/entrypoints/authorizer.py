"""The bearer-token authorizer (a Chalice built-in authorizer).

It verifies the access token and answers with the routes this principal may call,
computed from the routes' declared access (``http.endpoint``, read from the table in
``access``, so this function imports none of the routes): a member's token opens
the member routes, a staff token the staff routes of its roles. API Gateway caches the
answer per token, which is correct because the policy lists every allowed route, not
only the one being called. A missing or bad token is a 401 (API Gateway's reaction to
an authorizer failing with "Unauthorized"); a valid token on a route outside its
policy is a 403.
"""

from __future__ import annotations

import re
from typing import Any

from chalice import AuthResponse, AuthRoute, Blueprint
from chalice.app import AuthRequest

from ..adapters.tokens import Principal
from ..bootstrap import container
from ..domain.errors import InvalidToken
from .access import bearer_routes

auth = Blueprint(__name__)
_PATH_PARAM = re.compile(r"{\w+}")


class Unauthorized(Exception):
    """Raised by the authorizer; API Gateway answers 401 for exactly this message."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def allowed_routes(principal: Principal) -> list[AuthRoute]:
    """The routes as policy resources: a path parameter becomes ``*``, because API Gateway
    matches the policy against the concrete path (``.../members/01J.../freeze``), never
    against the route template."""
    by_path: dict[str, list[str]] = {}
    for route in bearer_routes():
        if route.access.allows(principal):
            by_path.setdefault(_PATH_PARAM.sub("*", route.path), []).append(route.method)
    return [AuthRoute(path, sorted(methods)) for path, methods in sorted(by_path.items())]


def bearer_token(header: str | None) -> str:
    scheme, _, token = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    return token.strip()


@auth.authorizer(name="bearer")
def bearer(request: AuthRequest) -> AuthResponse | dict[str, Any]:
    c = container()
    try:
        principal = c.tokens.verify(bearer_token(request.token), c.wall_clock.now())
    except InvalidToken:
        raise Unauthorized() from None
    routes = allowed_routes(principal)
    context = {"kind": principal.kind, "roles": ",".join(sorted(principal.roles))}
    if not routes:
        # a valid token whose roles open no route yet: refused (403), not unauthenticated
        return deny_all(request, principal, context)
    return AuthResponse(routes=routes, principal_id=principal.subject, context=context)


def deny_all(request: AuthRequest, principal: Principal, context: dict[str, str]) -> dict[str, Any]:
    """An explicit Deny on every route of this API stage (Chalice's ``AuthResponse`` only allows)."""
    prefix, _, resource = request.method_arn.partition(":execute-api:")
    region_account, _, path = resource.rpartition(":")
    api_stage = "/".join(path.split("/")[:2])
    return {
        "principalId": principal.subject,
        "context": context,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Deny",
                    "Resource": [f"{prefix}:execute-api:{region_account}:{api_stage}/*"],
                }
            ],
        },
    }
