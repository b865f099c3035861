"""The SNS sender (AWS regions that send SMS), against moto: it renders the template
itself, and a refused publish is ``SmsNotSent`` with SNS's error code."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from chalicelib.adapters.messaging import SmsNotSent, SnsSmsSender
from chalicelib.domain.rules import OtpRules
from chalicelib.domain.sms import Sms, otp_code_sms

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
REGION = "ap-southeast-1"


@pytest.fixture
def sns():
    with mock_aws():
        yield boto3.client("sns", region_name=REGION)


def test_sns_gets_the_rendered_text_of_the_template(sns):
    sms = otp_code_sms("+6591234567", "042917", OtpRules())
    SnsSmsSender(sns).send(sms, NOW)
    sent = list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values())
    assert sent == [("+6591234567", sms.text)]
    assert "042917" in sms.text


def test_a_publish_sns_refuses_is_not_a_send(sns):
    sms = Sms("not-a-number", otp_code_sms("+6591234567", "042917", OtpRules()).template, {"code": "042917"})
    with pytest.raises(SmsNotSent) as raised:
        SnsSmsSender(sns).send(sms, NOW)
    assert raised.value.provider_code == "InvalidParameter"
