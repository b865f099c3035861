"""Codes over HTTP with Alibaba Cloud SMS as the provider (its real SDK against the local
endpoint of ``tests/fake_aliyun.py``), and the daily SMS budgets."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chalicelib.adapters.messaging import Outbox
from chalicelib.bootstrap import bootstrap, install
from chalicelib.config import Settings
from chalicelib.domain.rules import Rules, SmsBudgetRules
from chalicelib.local import stage
from chalicelib.local.aws import EmbeddedAws
from chalicelib.local.gateway import Client
from chalicelib.local.queues import drain
from chalicelib.service_layer.legal import ensure_local_documents
from tests.builders import LOCAL_ACCEPTED, assert_error, forbid_server_errors, new_phone, register, send_code
from tests.fake_aliyun import ACCESS_KEY_ID, ACCESS_KEY_SECRET, Answer, FakeAlibabaSms

SHANGHAI = ZoneInfo("Asia/Shanghai")
SENT = {"expires_in": 300, "resend_after": 60}


def seconds_to_shanghai_midnight(now: datetime) -> int:
    midnight = datetime.combine(now.astimezone(SHANGHAI).date() + timedelta(days=1), datetime.min.time(), SHANGHAI)
    return math.ceil((midnight - now).total_seconds())


# --- Alibaba Cloud as the provider ---------------------------------------------------------------
@pytest.fixture
def alibaba():
    fake = FakeAlibabaSms().start()
    yield fake
    fake.stop()


@pytest.fixture
def aliyun_stack(clock, alibaba):
    """The local stage with ``SMS_PROVIDER=aliyun``: credentials from Secrets Manager (moto)."""
    stage.local_environment()
    settings = replace(
        Settings.from_env(),
        sms_provider="aliyun",
        aliyun_sms_secret_id="member-points/local/sms",
        aliyun_sms_sign_name="会员中心",
        aliyun_sms_templates=(("otp_code", "SMS_154950909"),),
        aliyun_sms_endpoint=alibaba.endpoint,
        aliyun_sms_protocol="http",
    )
    aws = EmbeddedAws(settings).start()
    aws.client("secretsmanager").create_secret(
        Name=settings.aliyun_sms_secret_id,
        SecretString=json.dumps({"access_key_id": ACCESS_KEY_ID, "access_key_secret": ACCESS_KEY_SECRET}),
    )
    container = bootstrap(aws.settings, clock=clock, outbox=Outbox(), session=aws.session)
    install(container)
    ensure_local_documents(container)
    try:
        yield container
    finally:
        install(None)
        aws.stop()


@pytest.fixture
def aliyun_client(aliyun_stack):
    from app import app

    return forbid_server_errors(Client(app))


def test_a_member_registers_with_the_code_alibaba_cloud_delivered(aliyun_client, alibaba):
    phone = new_phone()
    answer = aliyun_client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": "register"})
    assert answer.status_code == 202 and answer.json == SENT
    assert alibaba.calls == []  # queued: the SMS worker sends it
    drain()
    [call] = alibaba.calls
    assert call.action == "SendSms" and call.signature_valid
    assert (call.query["PhoneNumbers"], call.query["SignName"], call.query["TemplateCode"]) == (
        phone[1:],
        "会员中心",
        "SMS_154950909",
    )
    code = json.loads(call.query["TemplateParam"])["code"]
    body = {"phone": phone, "code": code, "accepted": LOCAL_ACCEPTED}
    registered = aliyun_client.post("/v1/auth/register", json_body=body)
    assert registered.status_code == 201, registered.body


@pytest.mark.parametrize(
    "answer",
    [
        Answer(200, {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发小时级流控Permits:5", "RequestId": "R1"}),
        Answer(500, {"Code": "InternalError", "Message": "The request processing has failed.", "RequestId": "R2"}),
    ],
    ids=["refused", "server-error"],
)
def test_a_failed_send_answers_as_usual_is_logged_by_provider_code_and_counted(
    aliyun_client, alibaba, clock, caplog, capsys, monkeypatch, answer
):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    alibaba.answer = answer
    phone = new_phone()
    with caplog.at_level(logging.INFO, logger="member-points"):
        failed = aliyun_client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": "register"})
        drain()
    assert failed.status_code == 202 and failed.json == SENT
    [record] = [r for r in caplog.records if r.getMessage() == "sms not sent"]
    assert record.provider_code == answer.body["Code"]
    emitted = capsys.readouterr()
    assert phone[3:] not in caplog.text and phone[3:] not in emitted.out + emitted.err
    assert '"SmsFailed"' in emitted.out and '"SmsSent"' not in emitted.out
    # the challenge stands: a new code after the usual wait, and that one arrives
    assert_error(aliyun_client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": "register"}), 429)
    alibaba.answer = Answer()
    clock.advance(seconds=60)
    assert aliyun_client.post("/v1/auth/otp", json_body={"phone": phone, "purpose": "register"}).status_code == 202
    drain()
    assert '"SmsSent"' in capsys.readouterr().out
    code = json.loads(alibaba.calls[-1].query["TemplateParam"])["code"]
    body = {"phone": phone, "code": code, "accepted": LOCAL_ACCEPTED}
    assert aliyun_client.post("/v1/auth/register", json_body=body).status_code == 201


# --- the daily SMS budgets ---------------------------------------------------------------------
BUDGET = SmsBudgetRules(per_day=5, per_country_per_day=(("CN", 3),), other_country_per_day=1)


@pytest.fixture
def budget_stack(clock):
    aws, container = stage.start(clock=clock, rules=Rules(sms_budget=BUDGET))
    try:
        yield container
    finally:
        install(None)
        aws.stop()


@pytest.fixture
def budget_client(budget_stack):
    from app import app

    return forbid_server_errors(Client(app))


def ops_alerts(stack) -> list[str]:
    return [m.text for m in stack.outbox.messages_to("ops") if m.text.startswith("SMS budget spent")]


def test_the_country_budget_refuses_until_the_next_shanghai_day_and_alerts_ops_once(
    budget_client, budget_stack, clock
):
    member = register(budget_client, budget_stack)  # one CN request
    clock.advance(seconds=61)
    send_code(budget_client, member.phone, "login")  # registered
    send_code(budget_client, new_phone(), "login")  # not registered: counted the same
    for _ in range(2):
        stranger = new_phone()
        refused = budget_client.post("/v1/auth/otp", json_body={"phone": stranger, "purpose": "register"})
        error = assert_error(refused, 429, "sms_budget_exhausted")
        assert refused.headers["retry-after"] == str(seconds_to_shanghai_midnight(clock.now()))
        assert "CN" not in error["message"]
        drain()
        assert budget_stack.outbox.messages_to(stranger) == []
    assert ops_alerts(budget_stack) == [ops_alerts(budget_stack)[0]] and "CN" in ops_alerts(budget_stack)[0]
    # another country still has its own budget, and the global one is not spent yet
    send_code(budget_client, "+85251234567", "register")
    assert budget_stack.outbox.messages_to("+85251234567")
    assert_error(budget_client.post("/v1/auth/otp", json_body={"phone": "+85291234567", "purpose": "register"}), 429)
    assert len(ops_alerts(budget_stack)) == 2 and "HK" in ops_alerts(budget_stack)[1]
    # the next Shanghai day the budgets start again
    clock.advance(seconds=seconds_to_shanghai_midnight(clock.now()))
    send_code(budget_client, new_phone(), "register")
    send_code(budget_client, "+85291234567", "register")


def test_the_global_budget_counts_every_country(budget_client, budget_stack, clock):
    for phone in (new_phone(), new_phone(), "+85251234567", new_phone(), "+6591234567"):
        send_code(budget_client, phone, "register")
    for _ in range(2):
        refused = budget_client.post("/v1/auth/otp", json_body={"phone": "+14155550123", "purpose": "register"})
        assert_error(refused, 429, "sms_budget_exhausted")
    [alert] = ops_alerts(budget_stack)
    assert alert.startswith("SMS budget spent: all numbers")
    drain()
    assert budget_stack.outbox.messages_to("+14155550123") == []

