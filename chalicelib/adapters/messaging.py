"""Outgoing messages: SMS to members and alerts to ops.

SMS goes out through one of three senders, chosen by ``SMS_PROVIDER``: Alibaba Cloud
SMS for mainland China (``adapters.aliyun_sms``), SNS in the AWS regions that send SMS,
or the in-memory outbox of the local stage (readable at ``GET /v1/dev/sms`` and by the
tests). Ops alerts go to the SNS ops topic, or to the outbox locally.

A provider failure becomes ``SmsNotSent`` with the provider's code only, raised ``from
None``: an SDK's exception may carry the request, and the request carries the number.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from ..domain.sms import Sms


class SmsNotSent(Exception):
    """The provider did not accept the message; ``provider_code`` is its answer (never
    the phone number or the text)."""

    def __init__(self, provider_code: str) -> None:
        super().__init__(provider_code)
        self.provider_code = provider_code


class SmsSender(Protocol):
    def send(self, sms: Sms, at: datetime) -> None:
        """Hand one message to the provider, or raise ``SmsNotSent``."""


class LazySmsSender:
    """Builds its sender at the first message: only the functions that send codes read the
    provider's secret and load its SDK (the jobs' roles may not read that secret)."""

    def __init__(self, build: Callable[[], SmsSender]) -> None:
        self._build = build
        self._sender: SmsSender | None = None
        self._lock = threading.Lock()

    def send(self, sms: Sms, at: datetime) -> None:
        with self._lock:
            if self._sender is None:
                self._sender = self._build()
        self._sender.send(sms, at)


class OpsNotifier(Protocol):
    def notify(self, subject: str, message: str, at: datetime) -> None: ...


class SnsSmsSender:
    """SMS through SNS, in the AWS regions that send SMS (not cn-north-1 or cn-northwest-1);
    SNS takes free text, so the template is rendered here."""

    def __init__(self, sns_client: Any, sender_id: str = "MEMBER") -> None:
        self._sns = sns_client
        self._sender_id = sender_id

    def send(self, sms: Sms, at: datetime) -> None:
        try:
            self._sns.publish(
                PhoneNumber=sms.to_e164,
                Message=sms.text,
                MessageAttributes={
                    "AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"},
                    "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": self._sender_id},
                },
            )
        except ClientError as exc:
            raise SmsNotSent(str(exc.response.get("Error", {}).get("Code", "ClientError"))) from None
        except BotoCoreError as exc:
            raise SmsNotSent(type(exc).__name__) from None


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

    def send(self, sms: Sms, at: datetime) -> None:
        self._keep(sms.to_e164, sms.text, at)

    def notify(self, subject: str, message: str, at: datetime) -> None:
        self._keep("ops", f"{subject}: {message}", at)

    def _keep(self, to: str, text: str, at: datetime) -> None:
        with self._lock:
            self._messages.append(OutboxMessage(to, text, at))

    def messages_to(self, to: str) -> list[OutboxMessage]:
        with self._lock:
            return [m for m in self._messages if m.to == to]
