"""Outgoing messages: SMS to members and alerts to ops.

Production sends both through SNS (``Publish`` to a phone number, ``Publish`` to the
ops topic). The local stage keeps them in memory instead, readable at
``GET /v1/dev/sms`` and by the tests.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class SmsSender(Protocol):
    def send(self, to_e164: str, text: str, at: datetime) -> None: ...


class OpsNotifier(Protocol):
    def notify(self, subject: str, message: str, at: datetime) -> None: ...


class SnsSmsSender:
    def __init__(self, sns_client: Any, sender_id: str = "MEMBER") -> None:
        self._sns = sns_client
        self._sender_id = sender_id

    def send(self, to_e164: str, text: str, at: datetime) -> None:
        self._sns.publish(
            PhoneNumber=to_e164,
            Message=text,
            MessageAttributes={
                "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": self._sender_id},
            },
        )


class SnsOpsNotifier:
    def __init__(self, sns_client: Any, topic_arn: str) -> None:
        self._sns = sns_client
        self._topic_arn = topic_arn

    def notify(self, subject: str, message: str, at: datetime) -> None:
        self._sns.publish(TopicArn=self._topic_arn, Subject=subject[:100], Message=message)


@dataclass(frozen=True)
class OutboxMessage:
    to: str
    text: str
    sent_at: datetime


class Outbox:
    """An in-memory outbox standing in for SNS in the local stage (SMS and ops alerts)."""

    def __init__(self) -> None:
        self._messages: list[OutboxMessage] = []
        self._lock = threading.Lock()

    def send(self, to_e164: str, text: str, at: datetime) -> None:
        with self._lock:
            self._messages.append(OutboxMessage(to_e164, text, at))

    def notify(self, subject: str, message: str, at: datetime) -> None:
        self.send("ops", f"{subject}: {message}", at)

    def messages_to(self, to: str) -> list[OutboxMessage]:
        with self._lock:
            return [m for m in self._messages if m.to == to]
