"""Property: nothing a client sends produces a 5xx, and every refusal has the contract's
error shape. Random JSON bodies (using each route's real field names, with wrong types,
huge numbers, unicode and unknown keys) are sent with valid credentials to every route
that takes a body, so requests get past authentication into parsing and the services."""

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app  # noqa: F401  (registers every route, filling ROUTES)
from chalicelib.entrypoints.http import ROUTES
from tests.builders import admin_token, register, signed_headers

BODY_ROUTES = sorted(
    {(spec.method, spec.path): spec for spec in ROUTES if spec.body is not None}.values(),
    key=lambda spec: (spec.path, spec.method),
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "2026-11-23",
            "2026-11-23T10:00:00+08:00",
            "13912345678",
            "+8613912345678",
            "11010519491231002X",
            "o1",
            "bank",
            "register",
            "order.paid",
            "' OR 1=1 --",
            "<script>",
        ]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def bodies(spec):
    fields = list(spec.body.model_fields) if hasattr(spec.body, "model_fields") else []
    if not fields:  # a root model (signed events): build the envelope's keys
        fields = ["event_id", "type", "member_id", "occurred_at", "data"]
    keys = st.sampled_from(fields) | st.text(max_size=8)
    return st.dictionaries(keys, json_values, max_size=len(fields) + 1) | json_values


@pytest.mark.parametrize("spec", BODY_ROUTES, ids=lambda spec: f"{spec.method} {spec.path}")
def test_random_bodies_never_produce_a_5xx(client, stack, spec):
    member = register(client, stack)
    admin = admin_token(client, stack)
    path = re.sub(r"{\w+}", member.member_id, spec.path)

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=bodies(spec))
    def check(body):
        raw = json.dumps(body).encode()
        headers = {"content-type": "application/json"}
        token = member.access_token if spec.access.kind == "member" else admin
        if spec.access.kind == "signed":
            headers = signed_headers(stack, spec.method, path, raw)
            token = None
        response = client.request(
            spec.method, path, body=raw, headers=headers, token=token if spec.access.needs_bearer else None
        )
        assert response.status_code < 500, (spec.path, body, response.body)
        if response.status_code >= 400:
            error = response.json["error"]
            assert isinstance(error["code"], str) and error["code"] and isinstance(error["message"], str)

    check()
