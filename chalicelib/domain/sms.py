"""Text messages to members: provider-neutral templates and the SMS budget's country.

Mainland China only delivers SMS whose sign name and template an operator had approved
by the provider (Alibaba Cloud), so a message is a template and its parameters, never
free text. Channels that take free text (SNS, the local outbox) render the template's
own ``text``; Alibaba Cloud renders its approved copy of the same template.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
