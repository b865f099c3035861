"""SMS settings are checked when the container is built, not at the first code request;
the SMS domain: templates, the budget's country and numbers."""

from __future__ import annotations

import pytest

from chalicelib.bootstrap import bootstrap
from chalicelib.config import ConfigError, Settings
from chalicelib.domain.rules import OtpRules, SmsBudgetRules
from chalicelib.domain.sms import budget_country, otp_code_sms

ALIYUN = {
    "STAGE": "prod",
    "SMS_PROVIDER": "aliyun",
    "ALIYUN_SMS_SECRET_ID": "member-points/prod/sms",
    "ALIYUN_SMS_SIGN_NAME": "会员中心",
    "ALIYUN_SMS_TEMPLATES": '{"otp_code": "SMS_154950909"}',
}


def settings(**env: str) -> Settings:
    return Settings.from_env({**ALIYUN, **env})


def test_an_unknown_provider_stops_the_start_before_any_aws_call():
    with pytest.raises(ConfigError, match="SMS_PROVIDER must be one of aliyun, sns, outbox"):
        bootstrap(settings(SMS_PROVIDER="twilio"), session=object())  # no client is ever asked of it


def test_a_stage_without_a_provider_does_not_start():
    env = {key: value for key, value in ALIYUN.items() if key != "SMS_PROVIDER"}
    with pytest.raises(ConfigError, match="SMS_PROVIDER"):
        Settings.from_env(env).checked()


def test_the_outbox_is_the_local_stages_only():
    with pytest.raises(ConfigError, match="local stage only"):
        settings(SMS_PROVIDER="outbox").checked()
    assert Settings.from_env({"STAGE": "local"}).checked().sms_provider == "outbox"


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"ALIYUN_SMS_SECRET_ID": ""}, "ALIYUN_SMS_SECRET_ID and ALIYUN_SMS_SIGN_NAME"),
        ({"ALIYUN_SMS_SIGN_NAME": ""}, "ALIYUN_SMS_SECRET_ID and ALIYUN_SMS_SIGN_NAME"),
        ({"ALIYUN_SMS_TEMPLATES": "{}"}, "no template code for otp_code"),
        ({"ALIYUN_SMS_TEMPLATES": '{"otp_code": ""}'}, "no template code for otp_code"),
        ({"ALIYUN_SMS_PROTOCOL": "ftp"}, "must be https"),
        ({"ALIYUN_SMS_PROTOCOL": "http"}, "only for a test endpoint on this machine"),
    ],
)
def test_an_incomplete_alibaba_cloud_configuration_is_refused(env, problem):
    with pytest.raises(ConfigError, match=problem):
        settings(**env).checked()


@pytest.mark.parametrize("raw", ["not json", '["SMS_1"]', '{"otp_code": 1}'])
def test_template_codes_must_be_a_json_object_of_strings(raw):
    with pytest.raises(ConfigError, match="ALIYUN_SMS_TEMPLATES"):
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
    assert budget_country(phone) == country


def test_mainland_china_gets_the_large_budget_and_every_other_country_the_small_one():
    rules = SmsBudgetRules()
    assert rules.for_country("CN") == 20_000
    assert rules.for_country("HK") == rules.for_country("US") == 100
