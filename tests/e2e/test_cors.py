"""Browser code can read every answer: the app's own and the gateway's errors carry the
stage's allowed origin and expose the request id and Retry-After."""

from __future__ import annotations

from app import app
from chalicelib.entrypoints.cors import allowed_origin
from tests.builders import new_phone, send_code

EXPOSED = {"x-request-id", "retry-after"}


def assert_readable_by_browsers(response, origin: str) -> None:
    assert response.headers.get("access-control-allow-origin") == origin, response.headers
    exposed = {name.strip().lower() for name in response.headers.get("access-control-expose-headers", "").split(",")}
    assert exposed >= EXPOSED, response.headers


def test_the_apps_answers_expose_the_request_id_and_retry_after(client):
    origin = app.api.cors.allow_origin
    ok = client.get("/v1/health")
    assert ok.status_code == 200 and ok.headers["x-request-id"]
    assert_readable_by_browsers(ok, origin)
    refused = client.post("/v1/auth/otp", json_body={"phone": "1", "purpose": "nope"})
    assert refused.status_code == 400
    assert_readable_by_browsers(refused, origin)


def test_a_rate_limited_answer_carries_a_retry_after_browser_code_can_read(client):
    phone = new_phone()
    send_code(client, phone, "register")
    again = client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": "register"})
    assert again.status_code == 429 and int(again.headers["retry-after"]) > 0
    assert_readable_by_browsers(again, app.api.cors.allow_origin)


def test_the_gateways_own_errors_carry_the_stages_origin(client, monkeypatch):
    monkeypatch.setenv("CORS_ALLOW_ORIGIN", "https://members.example.cn")
    assert allowed_origin() == "https://members.example.cn"
    for path, token, status in [
        ("/v1/me", None, 401),
        ("/v1/me", "not-a-token", 401),
        ("/v1/no-such-route", None, 404),
    ]:
        answer = client.get(path, token=token)
        assert answer.status_code == status, (path, answer.body)
        assert_readable_by_browsers(answer, "https://members.example.cn")
