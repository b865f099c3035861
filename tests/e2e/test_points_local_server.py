"""Signed events through the real local HTTP server (what ``make dev`` serves), over one
keep-alive connection as the shop's client would hold it."""

from __future__ import annotations

import http.client
import json
import threading

import pytest

from chalicelib.domain.signing import sign
from tests.builders import assert_points_reconcile, points_of, register


@pytest.fixture
def server(stack):
    from app import app
    from chalicelib.local.gateway import local_server

    running = local_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=running.server.serve_forever, daemon=True)
    thread.start()
    yield running.server.server_address[1]
    running.shutdown()
    thread.join(timeout=10)
    running.server.server_close()


def test_signed_events_over_a_keep_alive_connection_are_applied_once_each(client, stack, server):
    member = register(client, stack)
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    for number in range(12):
        body = json.dumps(
            {
                "event_id": f"ls-{number}",
                "type": "content.posted",
                "member_id": member.member_id,
                "occurred_at": stack.clock.now().isoformat(),
                "data": {"kind": "post"},
            }
        ).encode()
        timestamp = str(int(stack.clock.now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "X-Integration-Key": stack.settings.local_integration_key_id,
            "X-Timestamp": timestamp,
            "X-Signature": sign(stack.settings.local_integration_secret, timestamp, body),
        }
        connection.request("POST", "/v1/events", body=body, headers=headers)
        response = connection.getresponse()
        answer = json.loads(response.read())
        assert (response.status, answer) == (202, {"status": "accepted"})
    connection.close()

    assert points_of(client, member)["available"] == 60 + 20  # 12 posts, at most 20 points a day
    assert_points_reconcile(stack)
