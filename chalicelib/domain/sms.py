"""Text messages to members: provider-neutral templates and the SMS budget's country.

Mainland China only delivers SMS whose sign name and template an operator had approved
by the provider (Alibaba Cloud), so a message is a template and its parameters, never
free text. Channels that take free text (SNS, the local outbox) render the template's
own ``text``; Alibaba Cloud renders its approved copy of the same template.

Codes reach the provider through a queue (``QueuedSms``), so that asking a code takes the
same time for every number; the worker decides what each message becomes
(``QueuedSms.disposition``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .rules import OtpRules

OTP_CODE = "otp_code"
# Every template the code base sends; each provider that renders remotely needs a code for each.
TEMPLATE_NAMES = (OTP_CODE,)


@dataclass(frozen=True)
class SmsTemplate:
    name: str  # what operators map to a provider's template code
    text: str  # ``str.format`` text with the parameters, for channels that take free text


@dataclass(frozen=True)
class Sms:
    to_e164: str
    template: SmsTemplate
    params: Mapping[str, str]  # exactly the variables of the approved template

    @property
    def text(self) -> str:
        return self.template.text.format(**self.params)


def otp_code_template(rules: OtpRules) -> SmsTemplate:
    """The one-time code: one variable, ``code``; the validity is fixed text, as in the
    approved template (Alibaba Cloud allows one variable in a verification-code template)."""
    minutes = rules.ttl_s // 60
    text = f"【会员中心】验证码 {{code}}，{minutes} 分钟内有效。请勿告诉他人。Your code is {{code}}."
    return SmsTemplate(OTP_CODE, text)


def otp_code_sms(to_e164: str, code: str, rules: OtpRules) -> Sms:
    return Sms(to_e164, otp_code_template(rules), {"code": code})


# the associated data a queued message is encrypted under (``adapters.crypto.FieldCipher``)
QUEUED_SMS_FIELD = "queued_sms"


class Disposition(StrEnum):
    """What the worker does with a queued message."""

    SEND = "send"
    DECOY = "decoy"  # queued for a number that may not use the code: dropped, never sent
    EXPIRED = "expired"  # the code's lifetime is over: a late code is never sent


@dataclass(frozen=True)
class QueuedSms:
    """One SMS handed to the queue by the code-request path.

    A request for a number that may not use its code queues a decoy of exactly the same
    shape and size (``deliver`` false), so the queue sees one message of one size per
    request, whatever the number. ``id`` is the delivery's idempotency key; ``not_after``
    is the code's expiry (epoch seconds)."""

    id: str
    sms: Sms
    not_after: int
    deliver: bool

    def to_json(self) -> str:
        # fixed width for a given number and template: ``deliver`` is one digit, not true/false
        return json.dumps(
            {
                "id": self.id,
                "to": self.sms.to_e164,
                "template": self.sms.template.name,
                "params": dict(self.sms.params),
                "not_after": self.not_after,
                "deliver": int(self.deliver),
            },
            separators=(",", ":"),
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, raw: str, templates: Mapping[str, SmsTemplate]) -> QueuedSms:
        data = json.loads(raw)
        return cls(
            id=str(data["id"]),
            sms=Sms(str(data["to"]), templates[data["template"]], {str(k): str(v) for k, v in data["params"].items()}),
            not_after=int(data["not_after"]),
            deliver=data["deliver"] == 1,
        )

    def disposition(self, now: datetime) -> Disposition:
        if not self.deliver:
            return Disposition.DECOY
        if now.timestamp() >= self.not_after:
            return Disposition.EXPIRED
        return Disposition.SEND


def templates_by_name(rules: OtpRules) -> dict[str, SmsTemplate]:
    """Every template by name, as the worker renders a queued message."""
    return {OTP_CODE: otp_code_template(rules)}
