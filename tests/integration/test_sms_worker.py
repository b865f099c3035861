"""The SMS worker: what it does with each queued message, as Lambda hands it a batch.

Each test requests a code over HTTP (the message lands in the local stage's embedded
queue), then either lets the local runner deliver it or hands the received message to
the worker's Lambda handler itself, once or twice, to play what SQS may do."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

import pytest

from chalicelib.adapters.messaging import Outbox, SmsNotSent
from chalicelib.domain.sms import Sms
from chalicelib.entrypoints.sms_worker import sms_worker
from chalicelib.local import queues
from tests.builders import CODE, forbid_server_errors, new_phone, register


@pytest.fixture(autouse=True)
def _no_server_errors(client):
    forbid_server_errors(client)


class RefusingSender:
    """A provider that refuses every message, as Alibaba Cloud under flow control does."""

    def __init__(self) -> None:
        self.tries = 0

    def send(self, sms: Sms, at: datetime) -> None:
        self.tries += 1
        raise SmsNotSent("isv.BUSINESS_LIMIT_CONTROL")


class SlowOutbox(Outbox):
    """The outbox, holding each send until released, so that two deliveries overlap."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = threading.Event()
        self.release = threading.Event()

    def send(self, sms: Sms, at: datetime) -> None:
        self.inside.set()
        assert self.release.wait(timeout=10)
        super().send(sms, at)


def sqs():
    return queues.current().sqs


def queue_url(name: str) -> str:
    return queues.current().urls[name]


def ask(client, phone: str, purpose: str = "register") -> None:
    assert client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": purpose}).status_code == 202


def received(stack, name: str = "SmsQueue") -> list[dict]:
    return sqs().receive_message(QueueUrl=queue_url(name), MaxNumberOfMessages=10, AttributeNames=["All"]).get(
        "Messages", []
    )


def lambda_event(*messages: dict) -> dict:
    """The SQS event Lambda would hand the worker for these messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:cn-north-1:000000000000:member-points-local-sms",
                "awsRegion": "cn-north-1",
            }
            for m in messages
        ]
    }


def visible_again(stack, message: dict, name: str = "SmsQueue") -> None:
    """The visibility timeout has passed (60 s in infra/api.yaml): SQS delivers it again."""
    sqs().change_message_visibility(
        QueueUrl=queue_url(name), ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )


def test_the_queue_holds_neither_the_code_nor_the_number(client, stack):
    phone = new_phone()
    ask(client, phone)
    [message] = received(stack)
    sms_worker(lambda_event(message), None)
    code = CODE.search(stack.outbox.messages_to(phone)[-1].text).group(1)
    assert code not in message["Body"] and phone[3:] not in message["Body"]
    assert message["Body"].startswith("v1.")  # the field cipher's ciphertext


def test_a_message_delivered_twice_sends_once(client, stack):
    phone = new_phone()
    ask(client, phone)
    [message] = received(stack)

    first = sms_worker(lambda_event(message), None)
    second = sms_worker(lambda_event(message), None)

    assert first == second == {"batchItemFailures": []}
    assert len(stack.outbox.messages_to(phone)) == 1


def test_two_deliveries_of_one_message_at_once_send_it_once_and_retry_the_other(client, stack, monkeypatch):
    phone = new_phone()
    ask(client, phone)
    [message] = received(stack)
    slow = SlowOutbox()
    monkeypatch.setattr(stack, "sms", slow)
    answers = []
    first = threading.Thread(target=lambda: answers.append(sms_worker(lambda_event(message), None)))
    first.start()
    assert slow.inside.wait(timeout=10)  # the first delivery is inside the provider call

    second = sms_worker(lambda_event(message), None)
    slow.release.set()
    first.join(timeout=10)

    assert second == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}  # comes back later
    assert answers == [{"batchItemFailures": []}]
    assert len(slow.messages_to(phone)) == 1
    assert sms_worker(lambda_event(message), None) == {"batchItemFailures": []}  # the retry finds it sent
    assert len(slow.messages_to(phone)) == 1


def test_a_code_past_its_lifetime_is_never_sent(client, stack, clock, caplog):
    phone = new_phone()
    ask(client, phone)
    clock.advance(seconds=300)
    with caplog.at_level(logging.INFO, logger="member-points"):
        assert queues.drain() == 1
    assert stack.outbox.messages_to(phone) == []
    assert any(r.getMessage() == "sms expired before sending" for r in caplog.records)
    assert received(stack) == []  # dropped, not retried


def test_a_decoy_for_a_number_that_may_not_use_the_code_is_dropped(client, stack):
    stranger = new_phone()
    ask(client, stranger, "login")
    assert queues.drain() == 1
    assert stack.outbox.messages_to(stranger) == []
    assert received(stack) == []


def test_a_refused_send_is_a_batch_item_failure_retried_then_dead_lettered(client, stack, monkeypatch):
    member = register(client, stack)
    refusing = RefusingSender()
    monkeypatch.setattr(stack, "sms", refusing)
    stack.clock.advance(seconds=61)
    ask(client, member.phone, "login")
    ask(client, new_phone())
    messages = received(stack)
    assert len(messages) == 2

    answer = sms_worker(lambda_event(*messages), None)

    assert sorted(f["itemIdentifier"] for f in answer["batchItemFailures"]) == sorted(m["MessageId"] for m in messages)
    # from here on the visibility timeout passes at once: SQS delivers each again until
    # its third refusal, then moves it to the dead-letter queue
    sqs().set_queue_attributes(QueueUrl=queue_url("SmsQueue"), Attributes={"VisibilityTimeout": "0"})
    for message in messages:
        visible_again(stack, message)
    assert queues.drain() == 4
    assert received(stack) == []
    assert sorted(m["MessageId"] for m in received(stack, "SmsDeadLetters")) == sorted(m["MessageId"] for m in messages)
    assert refusing.tries == 6


def test_a_refused_send_gives_its_claim_back_so_the_retry_sends(client, stack, monkeypatch):
    phone = new_phone()
    ask(client, phone)
    [message] = received(stack)
    monkeypatch.setattr(stack, "sms", RefusingSender())
    assert sms_worker(lambda_event(message), None)["batchItemFailures"] == [{"itemIdentifier": message["MessageId"]}]

    monkeypatch.setattr(stack, "sms", stack.outbox)
    assert sms_worker(lambda_event(message), None) == {"batchItemFailures": []}
    assert len(stack.outbox.messages_to(phone)) == 1


def test_no_log_line_of_a_request_or_its_deliveries_holds_the_code_or_the_number(
    client, stack, monkeypatch, caplog, capsys
):
    phone = new_phone()
    with caplog.at_level(logging.DEBUG):
        ask(client, phone)
        [message] = received(stack)
        monkeypatch.setattr(stack, "sms", RefusingSender())
        sms_worker(lambda_event(message), None)
        monkeypatch.setattr(stack, "sms", stack.outbox)
        visible_again(stack, message)
        assert queues.drain() == 1
    code = CODE.search(stack.outbox.messages_to(phone)[-1].text).group(1)
    emitted = capsys.readouterr()
    lines = caplog.text + emitted.out + emitted.err
    assert "sms not sent" in lines
    assert code not in lines and phone[3:] not in lines
