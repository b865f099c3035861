"""SMS settings are checked when the container is built, not at the first code request;
the SMS domain: templates, the budget's country and numbers."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest

from chalicelib.adapters.messaging import SmsNotSent
from chalicelib.bootstrap import bootstrap, sms_sender
from chalicelib.config import ConfigurationError, Settings
from chalicelib.domain.identity import phone_country
from chalicelib.domain.rules import OtpRules, SmsBudgetRules
from chalicelib.domain.sms import otp_code_sms

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
ALIYUN = {
    "STAGE": "prod",
    "TABLE_NAME": "member-points-prod",
    "DATA_KEY_ID": "alias/member-points-prod",
    "APP_SECRET_ID": "member-points/prod/app",
    "INTEGRATION_KEYS_SECRET_ID": "member-points/prod/integration-keys",
    "OPS_TOPIC_ARN": "arn:aws-cn:sns:cn-north-1:000000000000:member-points-prod-ops-alerts",
    "PUBLIC_BASE_URL": "https://api.members.example.cn",
    "SNAPSHOT_BUCKET": "member-points-prod-settlements-000000000000",
    "SMS_QUEUE_URL": "https://sqs.cn-north-1.amazonaws.com.cn/000000000000/member-points-prod-sms",
    "SMS_PROVIDER": "aliyun",
    "ALIYUN_SMS_SECRET_ID": "member-points/prod/sms",
    "ALIYUN_SMS_SIGN_NAME": "会员中心",
    "ALIYUN_SMS_TEMPLATES": '{"otp_code": "SMS_154950909"}',
}


def settings(**env: str) -> Settings:
    return Settings.from_env({**ALIYUN, **env})


def test_an_unknown_provider_stops_the_start_before_any_aws_call():
    with pytest.raises(ConfigurationError, match="SMS_PROVIDER must be one of aliyun, sns, outbox"):
        bootstrap(settings(SMS_PROVIDER="twilio"), session=object())  # no client is ever asked of it


def test_a_deployed_stage_without_a_provider_does_not_start():
    env = {key: value for key, value in ALIYUN.items() if key != "SMS_PROVIDER"}
    with pytest.raises(ConfigurationError, match="stage prod needs SMS_PROVIDER"):
        Settings.from_env(env)


def test_the_outbox_is_the_local_stages_only():
    with pytest.raises(ConfigurationError, match="local stage only"):
        settings(SMS_PROVIDER="outbox").checked()
    assert Settings.from_env({"STAGE": "local"}).checked().sms_provider == "outbox"


def test_the_alibaba_cloud_secret_is_read_at_the_first_code_not_when_a_job_starts():
    reads: list[str] = []

    class Secrets:
        def get_json(self, secret_id: str) -> dict[str, str]:
            reads.append(secret_id)
            return {"access_key_id": "id", "access_key_secret": "secret"}

    with socket.socket() as probe:  # a port of this machine that nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{probe.getsockname()[1]}"
    stage = settings(ALIYUN_SMS_PROTOCOL="http", ALIYUN_SMS_ENDPOINT=closed).checked()
    sender = sms_sender(stage, None, Secrets(), None)
    assert reads == []
    with pytest.raises(SmsNotSent):
        sender.send(otp_code_sms("+8613912345678", "042917", OtpRules()), NOW)
    assert reads == ["member-points/prod/sms"]


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"ALIYUN_SMS_SECRET_ID": ""}, "ALIYUN_SMS_SECRET_ID and ALIYUN_SMS_SIGN_NAME"),
        ({"ALIYUN_SMS_SIGN_NAME": ""}, "ALIYUN_SMS_SECRET_ID and ALIYUN_SMS_SIGN_NAME"),
        ({"ALIYUN_SMS_TEMPLATES": "{}"}, "no template code for otp_code"),
        ({"ALIYUN_SMS_TEMPLATES": '{"otp_code": ""}'}, "no template code for otp_code"),
        ({"ALIYUN_SMS_PROTOCOL": "ftp"}, "must be https"),
        ({"ALIYUN_SMS_PROTOCOL": "http"}, "for a test endpoint on this machine"),
    ],
)
def test_an_incomplete_alibaba_cloud_configuration_is_refused(env, problem):
    with pytest.raises(ConfigurationError, match=problem):
        settings(**env).checked()


@pytest.mark.parametrize("raw", ["not json", '["SMS_1"]', '{"otp_code": 1}'])
def test_template_codes_must_be_a_json_object_of_strings(raw):
    with pytest.raises(ConfigurationError, match="ALIYUN_SMS_TEMPLATES"):
        settings(ALIYUN_SMS_TEMPLATES=raw)


def test_a_complete_alibaba_cloud_configuration_passes_and_plain_http_only_on_loopback():
    assert settings().checked().aliyun_sms_templates == (("otp_code", "SMS_154950909"),)
    local = settings(ALIYUN_SMS_PROTOCOL="http", ALIYUN_SMS_ENDPOINT="127.0.0.1:8099").checked()
    assert (local.aliyun_sms_protocol, local.aliyun_sms_endpoint) == ("http", "127.0.0.1:8099")


def test_the_code_template_has_one_variable_and_renders_the_validity_from_the_rules():
    sms = otp_code_sms("+8613912345678", "042917", OtpRules())
    assert sms.params == {"code": "042917"}
    assert sms.text == "【会员中心】验证码 042917，5 分钟内有效。请勿告诉他人。Your code is 042917."


@pytest.mark.parametrize(
    ("phone", "country"),
    [("+8613912345678", "CN"), ("+85251234567", "HK"), ("+14155550123", "US"), ("+6591234567", "SG")],
)
def test_the_budget_country_comes_from_the_calling_code(phone, country):
    assert phone_country(phone) == country


def test_mainland_china_gets_the_large_budget_and_every_other_country_the_small_one():
    rules = SmsBudgetRules()
    assert rules.for_country("CN") == 20_000
    assert rules.for_country("HK") == rules.for_country("US") == 100
