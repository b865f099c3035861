"""The authorization matrix, generated from the route declarations: every declared route
meets every kind of caller, and the answer's class follows from the route's ``Access``.

A caller the declaration does not admit gets exactly 401 or 403 in the contract's error
shape and writes nothing; an admitted caller is never refused by authorization (the route
itself may still answer 400, 404, 409 or 422 to a harmless id and an empty body). The
routes are ``http.ROUTES`` itself, so a new route is in the matrix the moment it is
declared, and an access kind the matrix does not know fails it.

Requests go through ``gateway.Client``: the real authorizer, its policy from
``route_access.json``, API Gateway's answers in the contract's shape, then the handler's
check that the token still stands. One world serves the whole module (callers are
expensive to build: staff sign in with a code and a TOTP).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import boto3
import pyotp
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

import app as application
from chalicelib.adapters.tokens import Principal
from chalicelib.bootstrap import Container, install
from chalicelib.domain.errors import InvalidToken
from chalicelib.domain.identity import NUTRITIONIST_ROLE, StaffRole
from chalicelib.entrypoints.http import ROUTES, RouteSpec
from chalicelib.local import dev_api, stage  # noqa: F401  (dev_api declares the local routes)
from chalicelib.local.aws import EmbeddedAws
from chalicelib.local.gateway import Client, HttpResponse
from chalicelib.service_layer.sessions import current_principal
from tests.builders import (
    admin_token,
    assert_error,
    close_account,
    decide_review,
    fresh_ip,
    login,
    new_phone,
    refreshed,
    register,
    signed_headers,
    staff_login,
    table_items,
)
from tests.conftest import MutableClock

# Names nothing, and passes the handler's check of path values (so the route, not the
# path check, answers an admitted caller).
HARMLESS_ID = "01MATRIXHARMLESS0000000000"
KNOWN_KINDS = {"public", "local", "member", "staff", "signed"}
# A signed route without a route scope learns the scope from its body (the events route:
# ``events:<type>``), so an empty body would stop at parsing, before the scope check.
# Such a route names here a body that parses and the scope that body needs; a test keeps
# this table complete.
PARSED_BODIES: dict[tuple[str, str], tuple[Callable[[Container], bytes], str]] = {
    ("POST", "/v1/events"): (
        lambda c: json.dumps(
            {
                "event_id": "matrix-event",
                "type": "challenge.won",
                "member_id": HARMLESS_ID,
                "occurred_at": c.now().isoformat(),
                "data": {},
            }
        ).encode(),
        "events:challenge.won",
    ),
}
NO_SCOPE_KEY = "matrix-no-scope"
NO_SCOPE_SECRET = "matrix-no-scope-secret-0123456789"
NOTHING = "matrix:nothing"  # a well-formed scope no route or event type asks for

ROUTE_IDS = [f"{spec.method} {spec.path}" for spec in ROUTES]


def staff_roles() -> list[str]:
    """Every staff role the code knows: the role constants and any role a route declares."""
    declared = {role for spec in ROUTES if spec.access.kind == "staff" for role in spec.access.roles}
    return sorted({role.value for role in StaffRole} | declared)


@dataclass
class Caller:
    """One kind of caller: a bearer token (``principal`` is what the token claims), an
    integration key, or nothing. ``stands`` says whether the account and session behind the
    token are still good; ``sign_in`` gives a standing caller a new token when a route
    (a logout) or time ended the last one."""

    name: str
    token: str | None = None
    principal: Principal | None = None
    stands: bool = True
    key: tuple[str, str] | None = None
    key_scopes: frozenset[str] = frozenset()
    sign_in: Callable[[], str] | None = None
    staff_id: str | None = None

    def refusal(self, spec: RouteSpec) -> tuple[int, str | None] | None:
        """``(status, error code or None)`` the declaration says this caller gets, or None if admitted."""
        access = spec.access
        if access.kind in ("public", "local"):
            return None
        if access.kind in ("member", "staff"):
            if self.principal is None:
                return 401, None  # no bearer token: the gateway answers
            if not access.allows(self.principal):
                return 403, None  # the authorizer's policy leaves the route out
            return None if self.stands else (401, "invalid_token")
        if access.kind == "signed":
            if self.key is None:
                return 401, "invalid_signature"
            scope = access.scope or PARSED_BODIES[spec.method, spec.path][1]
            return None if _grants(self.key_scopes, scope) else (401, "missing_scope")
        raise AssertionError(f"the authorization matrix does not know the access kind {access.kind!r}")

    def send(self, client: Client, c: Container, spec: RouteSpec) -> HttpResponse:
        path = spec.path
        for name in path_parameters(spec):
            path = path.replace(f"{{{name}}}", HARMLESS_ID)
        body = request_body(c, spec)
        headers = {"content-type": "application/json"} if body else {}
        if self.key is not None:
            key_id, secret = self.key
            headers = signed_headers(c, spec.method, path, body, key_id=key_id, secret=secret)
        return client.request(spec.method, path, body=body, headers=headers, token=self.token)


def _grants(scopes: frozenset[str], scope: str) -> bool:
    return any(granted == scope or (granted.endswith("*") and scope.startswith(granted[:-1])) for granted in scopes)


def path_parameters(spec: RouteSpec) -> list[str]:
    return [segment[1:-1] for segment in spec.path.split("/") if segment.startswith("{")]


def request_body(c: Container, spec: RouteSpec) -> bytes:
    if (spec.method, spec.path) in PARSED_BODIES:
        return PARSED_BODIES[spec.method, spec.path][0](c)
    return b"{}" if spec.body is not None else b""


@dataclass
class World:
    client: Client
    c: Container
    callers: list[Caller]

    def keep_standing(self, callers: list[Caller]) -> None:
        """Sign in again each of ``callers`` whose token should stand but a previous route
        (a logout) or time ended; fallen callers keep their tokens, whose refusal is the point."""
        while fallen := [caller for caller in callers if caller.stands and caller.token and not self._ok(caller)]:
            for caller in fallen:
                assert caller.sign_in is not None, caller.name
                fresh_ip(self.client)
                caller.token = caller.sign_in()

    def _ok(self, caller: Caller) -> bool:
        assert caller.token is not None
        try:
            current_principal(self.c, self.c.tokens.verify(caller.token, self.c.wall_clock.now()))
        except InvalidToken:
            return False
        return True


def stored_items(c: Container) -> list[dict]:
    """Every item of the table, read from moto's store: the same as ``table_items`` (a test
    says so), in a thousandth of the time, since a scan through the API serialises each
    attribute in Python and the matrix compares the table twice per route."""
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][c.settings.region].get_table(c.settings.table_name)
    items = [item.to_json()["Attributes"] for item in table.all_items()]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def _bearer(c: Container, name: str, token: str, sign_in: Callable[[], str] | None, stands: bool = True) -> Caller:
    return Caller(name, token, c.tokens.verify(token, c.wall_clock.now()), stands=stands, sign_in=sign_in)


def _new_staff(client: Client, c: Container, admin: str, roles: list[str], name: str) -> Caller:
    phone = new_phone()
    created = client.post("/v1/admin/staff", token=admin, json_body={"phone": phone, "roles": roles or ["ops"]})
    assert created.status_code == 201, created.body
    staff_id, secret = created.json["staff_id"], pyotp.parse_uri(created.json["totp_uri"]).secret
    if not roles:  # an account signed in and allowed nothing (README "Staff lifecycle")
        emptied = client.put(
            f"/v1/admin/staff/{staff_id}/roles", token=admin, json_body={"roles": [], "reason": "matrix"}
        )
        assert emptied.status_code == 200, emptied.body
    fresh_ip(client)

    def sign_in() -> str:
        return staff_login(client, c, phone, secret)

    caller = _bearer(c, name, sign_in(), sign_in)
    caller.staff_id = staff_id
    return caller


def _member(client: Client, c: Container) -> Caller:
    fresh_ip(client)
    member = register(client, c)

    def sign_in() -> str:
        return login(client, c, member.phone).access_token

    return _bearer(c, "member", member.access_token, sign_in)


def _nutritionist(client: Client, c: Container, ops: str) -> Caller:
    fresh_ip(client)
    member = register(client, c)
    certificate = {"certificate_no": "NUT-MATRIX-1", "issuer": "中国营养学会", "issued_on": "2026-01-02"}
    applied = client.post("/v1/me/nutritionist", token=member.access_token, json_body=certificate)
    assert applied.status_code in (200, 201, 202), applied.body
    approved = decide_review(client, ops, "nutritionists", member.member_id, reason="certificate checked")
    assert approved.status_code == 200, approved.body
    token = refreshed(client, member).access_token  # a token that carries the new role

    def sign_in() -> str:
        return login(client, c, member.phone).access_token

    caller = _bearer(c, "nutritionist", token, sign_in)
    assert caller.principal is not None and NUTRITIONIST_ROLE in caller.principal.roles
    return caller


def _fallen_members(client: Client, c: Container) -> list[Caller]:
    fresh_ip(client)
    logged_out = register(client, c)
    assert client.post("/v1/auth/logout", token=logged_out.access_token).status_code == 204
    fresh_ip(client)
    closed = register(client, c)
    answer = close_account(client, closed.access_token, "matrix")
    assert answer.status_code in (200, 202, 204), answer.body
    return [
        _bearer(c, "member logged out", logged_out.access_token, None, stands=False),
        _bearer(c, "member closed", closed.access_token, None, stands=False),
    ]


def _deactivated_staff(client: Client, c: Container, admin: str) -> Caller:
    """Holds every role, so the authorizer lets it through wherever staff may go and only
    the handler's check refuses it."""
    caller = _new_staff(client, c, admin, staff_roles(), "staff deactivated")
    gone = client.post(f"/v1/admin/staff/{caller.staff_id}/deactivate", token=admin, json_body={"reason": "matrix"})
    assert gone.status_code == 200, gone.body
    caller.stands, caller.sign_in = False, None
    return caller


def _signed_callers(aws: EmbeddedAws, c: Container) -> list[Caller]:
    """The local shop's key (every scope) and a key whose one scope opens no route, added
    before anything reads the keys."""
    nothing = [NOTHING]
    assert aws.integration_keys is not None
    keys = {**aws.integration_keys, NO_SCOPE_KEY: {"secrets": [NO_SCOPE_SECRET], "scopes": nothing}}
    boto3.client("secretsmanager", region_name=c.settings.region).put_secret_value(
        SecretId=c.settings.integration_keys_secret_id, SecretString=json.dumps(keys)
    )
    shop = c.settings.local_integration_key_id
    return [
        Caller(
            "signed, the shop's scopes",
            key=(shop, c.settings.local_integration_secret),
            key_scopes=frozenset(aws.integration_keys[shop]["scopes"]),
        ),
        Caller("signed, no scope", key=(NO_SCOPE_KEY, NO_SCOPE_SECRET), key_scopes=frozenset(nothing)),
    ]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    clock = MutableClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    aws, c = stage.start(clock=clock)
    try:
        client = Client(application.app)
        signed = _signed_callers(aws, c)
        # staff first: each sign-in moves the clock a minute, and the members' tokens
        # built afterwards then have all their lifetime ahead
        admin = admin_token(client, c)
        callers = [Caller("anonymous")]
        callers.append(_bearer(c, "staff admin", admin, lambda: admin_token(client, c)))
        for role in staff_roles():
            if role != StaffRole.ADMIN:
                callers.append(_new_staff(client, c, admin, [role], f"staff {role}"))
        callers.append(_new_staff(client, c, admin, [], "staff without roles"))
        callers.append(_deactivated_staff(client, c, admin))
        ops = next(caller.token for caller in callers if caller.name == "staff ops")
        callers.append(_nutritionist(client, c, ops))
        callers.append(_member(client, c))
        callers += _fallen_members(client, c)
        callers += signed
        yield World(client, c, callers)
    finally:
        install(None)
        aws.stop()


@pytest.mark.parametrize("spec", ROUTES, ids=ROUTE_IDS)
def test_each_route_admits_exactly_the_callers_its_declaration_names(world, spec):
    outcomes = [(caller, caller.refusal(spec)) for caller in world.callers]
    refused = [(caller, refusal) for caller, refusal in outcomes if refusal is not None]
    admitted = [caller for caller, refusal in outcomes if refusal is None]
    world.keep_standing(admitted)
    problems = []

    before = stored_items(world.c)
    for caller, (status, code) in refused:
        answer = caller.send(world.client, world.c, spec)
        try:
            assert_error(answer, status, code)
        except AssertionError:
            problems.append(
                f"{caller.name}: expected {status} {code or ''}, got {answer.status_code} {answer.body[:200]!r}"
            )
    if stored_items(world.c) != before:
        problems.append(f"refused callers ({', '.join(caller.name for caller, _ in refused)}) changed the table")

    for caller in admitted:
        answer = caller.send(world.client, world.c, spec)
        if answer.status_code in (401, 403) or answer.status_code >= 500:
            problems.append(f"{caller.name}: admitted, got {answer.status_code} {answer.body[:200]!r}")
    assert not problems, "\n".join(problems)


def test_the_matrix_covers_every_route_the_app_serves_and_only_those(world):
    """``world`` started the local stage, which registers the local routes on the app."""
    declared = [(spec.method, spec.path) for spec in ROUTES]
    assert len(declared) == len(set(declared)), "a route is declared twice"
    # the parametrization, fixed at collection, is every route declared by now
    assert sorted(ROUTE_IDS) == sorted(f"{method} {path}" for method, path in declared)
    served = {(method, path) for path, entries in application.app.routes.items() for method in entries}
    assert served == set(declared), "a route served without an @endpoint declaration has no access check"


def test_every_declared_access_is_one_the_matrix_knows(world):
    assert {spec.access.kind for spec in ROUTES} <= KNOWN_KINDS
    for kind in ("member", "staff"):
        needed = {role for spec in ROUTES if spec.access.kind == kind for role in spec.access.roles}
        held = {
            role
            for caller in world.callers
            if caller.stands and caller.principal and caller.principal.kind == kind
            for role in caller.principal.roles
        }
        assert needed <= held, f"a {kind} role a route needs is held by no standing caller of the matrix"
    unscoped = {
        (spec.method, spec.path) for spec in ROUTES if spec.access.kind == "signed" and spec.access.scope is None
    }
    assert unscoped == set(PARSED_BODIES), (
        "a signed route without a route scope needs a body that reaches its scope check"
    )


def test_every_caller_meets_the_check_it_is_there_for(world):
    """A standing caller is admitted to some route that needs a token or a signature; a
    fallen one is refused somewhere by the handler's check alone (its token's claims would
    pass the authorizer); the key without a scope is refused for its scope, not its
    signature. A caller that met none of these would test nothing."""
    for caller in world.callers:
        outcomes = {caller.refusal(spec) for spec in ROUTES if spec.access.kind not in ("public", "local")}
        if caller.principal is None and caller.key is None:
            expected = (401, None)
        elif caller.key is not None and caller.key_scopes == {NOTHING}:
            expected = (401, "missing_scope")
        elif caller.stands:
            expected = None
        else:
            expected = (401, "invalid_token")
        assert expected in outcomes, caller.name


def test_the_stored_items_are_the_table_as_a_scan_returns_it(world):
    assert stored_items(world.c) == table_items(world.c)
