"""The code-request path makes the same AWS calls, in the same order and of the same
sizes, for a number that gets an SMS and for one that does not, for every purpose: the
same reads (a look-up and the account it names, or one no number has), the same
transaction, one queued message of the same size, and no call to an SMS provider. So the
request's time cannot tell a member's number from a stranger's."""

from __future__ import annotations

import pytest

from chalicelib.domain.identity import OtpPurpose
from chalicelib.local.queues import drain
from tests.aws_calls import recorded
from tests.builders import forbid_server_errors, new_phone, new_staff, register


@pytest.fixture(autouse=True)
def _no_server_errors(client):
    forbid_server_errors(client)


def request_code(client, phone: str, purpose: str) -> list[tuple]:
    with recorded() as calls:
        answer = client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": purpose})
    assert answer.status_code == 202, answer.body
    return list(calls)


@pytest.mark.parametrize("purpose", ["register", "login", "staff"])
def test_a_known_and_an_unknown_number_make_the_same_aws_calls(client, stack, clock, purpose):
    known = new_staff(client, stack, "ops").phone if purpose == "staff" else register(client, stack).phone
    clock.advance(seconds=61)
    request_code(client, new_phone(), purpose)  # the first data key of a process is drawn from KMS once

    for_known = request_code(client, known, purpose)
    for_unknown = request_code(client, new_phone(), purpose)

    assert for_known == for_unknown
    operations = [call[:2] for call in for_known]
    assert operations.count(("sqs", "SendMessage")) == 1
    assert operations.count(("dynamodb", "TransactWriteItems")) == 1
    assert {service for service, _ in operations} == {"dynamodb", "sqs"}  # no provider, no KMS per request
    if purpose != "register":
        # every purpose's code (the resend wait spans purposes), a look-up, an account
        assert operations.count(("dynamodb", "GetItem")) == len(OtpPurpose) + 2
    drain()
    assert stack.outbox.messages_to(known)
