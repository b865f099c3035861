from tests.builders import register


def test_health_answers_ok(client):
    response = client.get("/v1/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_register_then_read_me(client, stack):
    member = register(client, stack)
    response = client.get("/v1/me", token=member.access_token)
    assert response.status_code == 200, response.body
    assert response.json["member_id"] == member.member_id
