"""The Alibaba Cloud SMS sender through the real SDK, against a local HTTP endpoint that
checks the request as Alibaba Cloud would (``tests/fake_aliyun.py``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.aliyun_sms import AliyunSmsSender
from chalicelib.adapters.messaging import SmsNotSent
from chalicelib.domain.rules import OtpRules
from chalicelib.domain.sms import otp_code_sms
from tests.fake_aliyun import ACCESS_KEY_ID, ACCESS_KEY_SECRET, Answer, FakeAlibabaSms

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
PHONE = "+8613912345678"


@pytest.fixture
def alibaba():
    fake = FakeAlibabaSms().start()
    yield fake
    fake.stop()


def sender(endpoint: str, secret: str = ACCESS_KEY_SECRET, read_timeout_ms: int = 5_000) -> AliyunSmsSender:
    return AliyunSmsSender.connect(
        {"access_key_id": ACCESS_KEY_ID, "access_key_secret": secret},
        endpoint,
        "会员中心",
        {"otp_code": "SMS_154950909"},
        protocol="http",
        read_timeout_ms=read_timeout_ms,
    )


def refusal(alibaba: FakeAlibabaSms, **kwargs) -> SmsNotSent:
    with pytest.raises(SmsNotSent) as raised:
        sender(alibaba.endpoint, **kwargs).send(otp_code_sms(PHONE, "042917", OtpRules()), NOW)
    assert PHONE[1:] not in str(raised.value) and raised.value.__cause__ is None
    return raised.value


def test_send_sms_carries_the_number_sign_template_and_code_as_json_signed_with_the_secret(alibaba):
    sender(alibaba.endpoint).send(otp_code_sms(PHONE, "042917", OtpRules()), NOW)
    [call] = alibaba.calls
    assert (call.action, call.version) == ("SendSms", "2017-05-25")
    assert call.query["PhoneNumbers"] == "8613912345678"
    assert call.query["SignName"] == "会员中心"
    assert call.query["TemplateCode"] == "SMS_154950909"
    assert json.loads(call.query["TemplateParam"]) == {"code": "042917"}
    assert call.signature_valid


def test_an_international_number_goes_out_with_its_country_code():
    fake = FakeAlibabaSms().start()
    try:
        sender(fake.endpoint).send(otp_code_sms("+85251234567", "000001", OtpRules()), NOW)
        assert fake.calls[0].query["PhoneNumbers"] == "85251234567"
    finally:
        fake.stop()


def test_a_wrong_secret_is_refused_by_the_signature_check(alibaba):
    assert refusal(alibaba, secret="not-the-secret").provider_code == "SignatureDoesNotMatch"
    assert not alibaba.calls[0].signature_valid


def test_a_business_refusal_answered_with_http_200_is_not_a_send(alibaba):
    alibaba.answer = Answer(
        200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控Permits:1", "RequestId": "A1"}
    )
    assert refusal(alibaba).provider_code == "isv.BUSINESS_LIMIT_CONTROL"


def test_a_server_error_is_not_a_send(alibaba):
    alibaba.answer = Answer(503, {"Code": "ServiceUnavailable", "Message": "busy", "RequestId": "A2"})
    assert refusal(alibaba).provider_code == "ServiceUnavailable"
    assert len(alibaba.calls) == 1  # no retry: the member asks again after the resend wait


def test_no_answer_in_time_is_not_a_send(alibaba):
    alibaba.answer = Answer(delay_s=1.0)
    assert refusal(alibaba, read_timeout_ms=200).provider_code == "NoAnswer"


def test_nothing_listening_is_not_a_send():
    fake = FakeAlibabaSms().start()
    fake.stop()
    assert refusal(fake).provider_code == "NoAnswer"
