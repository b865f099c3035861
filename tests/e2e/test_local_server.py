"""The real local HTTP server (what `make dev` serves), driven over a socket on 127.0.0.1."""

import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest

from chalicelib.local import queues
from tests.builders import LOCAL_ACCEPTED, new_phone


@pytest.fixture
def server(stack):
    from app import app
    from chalicelib.local.gateway import local_server

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dev = local_server(app, "127.0.0.1", port)
    thread = threading.Thread(target=dev.serve_forever, daemon=True)
    thread.start()
    queues.current().start()  # as `make dev` does
    yield f"http://127.0.0.1:{port}"
    queues.current().stop()
    dev.shutdown()
    thread.join(timeout=5)


def call(base, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null"), dict(error.headers)


def sms_to(server, phone: str, within_s: float = 5.0) -> list[dict]:
    """The outbox as a client polls it: the worker delivers a moment after the request."""
    deadline = time.monotonic() + within_s
    while True:
        status, outbox, _ = call(server, "GET", f"/v1/dev/sms?phone={phone.replace('+', '%2B')}")
        assert status == 200
        if outbox["messages"] or time.monotonic() > deadline:
            return outbox["messages"]
        time.sleep(0.05)


def test_register_and_read_me_over_a_real_socket(server, stack):
    phone = new_phone()
    assert call(server, "POST", "/v1/auth/otp", {"phone": phone, "purpose": "register"})[0] == 202
    [sms] = sms_to(server, phone)
    code = re.search(r"\b(\d{6})\b", sms["text"]).group(1)
    body = {"phone": phone, "code": code, "accepted": LOCAL_ACCEPTED}
    status, registered, _ = call(server, "POST", "/v1/auth/register", body)
    assert status == 201
    status, me, headers = call(server, "GET", "/v1/me", token=registered["access_token"])
    assert status == 200 and me["member_id"] == registered["member_id"] and me["points"]["available"] == 60
    assert headers.get("X-Request-Id")


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/v1/me", None, 401, "unauthorized"),
        ("GET", "/v1/no-such-route", None, 404, "not_found"),
        ("DELETE", "/v1/health", None, 405, "method_not_allowed"),
        ("POST", "/v1/auth/otp", {"phone": 13800000000, "purpose": "register"}, 400, "invalid_request"),
    ],
)
def test_refusals_over_a_real_socket_have_the_contract_shape(server, method, path, body, status, code):
    got, payload, _ = call(server, method, path, body)
    assert (got, payload["error"]["code"]) == (status, code)
    assert payload["error"]["message"]
