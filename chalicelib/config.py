"""Deployment settings read from the environment (set per stage in .chalice/config.json).

Business numbers do not live here: they are in ``chalicelib.domain.rules``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from .domain.sms import TEMPLATE_NAMES

SMS_PROVIDERS = ("aliyun", "sns", "outbox")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")

STAGES = ("local", "dev", "prod")
# what a deployed stage must name explicitly; the local stage has defaults for all of them
REQUIRED = (
    "TABLE_NAME",
    "DATA_KEY_ID",
    "APP_SECRET_ID",
    "INTEGRATION_KEYS_SECRET_ID",
    "OPS_TOPIC_ARN",
    "PUBLIC_BASE_URL",
    "SNAPSHOT_BUCKET",
    "SMS_PROVIDER",
    "SMS_QUEUE_URL",
)


class ConfigurationError(RuntimeError):
    """The environment does not describe a stage this code can run in."""


def stage_from_env(env: dict[str, str] | None = None) -> str:
    """The stage, failing closed: no default, and the local stage never on Lambda. The
    local runner and the tests set ``STAGE=local`` themselves (``chalicelib.local``)."""
    env = dict(os.environ if env is None else env)
    stage = env.get("STAGE", "")
    if stage not in STAGES:
        raise ConfigurationError(f"STAGE must be one of {', '.join(STAGES)}, not {stage!r}")
    if stage == "local" and env.get("AWS_LAMBDA_FUNCTION_NAME"):
        raise ConfigurationError("the local stage (in-memory SMS outbox, seeded admin) never runs on Lambda")
    return stage


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    table_name: str
    data_key_id: str
    app_secret_id: str
    integration_keys_secret_id: str
    ops_topic_arn: str
    public_base_url: str
    snapshot_bucket: str
    # where the code-request path queues SMS for the worker (the template's SmsQueue; the
    # local stage's embedded queue of the same definition)
    sms_queue_url: str = ""
    # where runs queue their plan and their units for the job worker (the template's JobsQueue)
    jobs_queue_url: str = ""
    # SMS: "aliyun" (mainland China), "sns" (AWS regions that send SMS) or "outbox" (local stage)
    sms_provider: str = "outbox"
    aliyun_sms_secret_id: str = ""
    aliyun_sms_sign_name: str = ""
    aliyun_sms_templates: tuple[tuple[str, str], ...] = ()  # template name -> Alibaba template code
    aliyun_sms_endpoint: str = "dysmsapi.aliyuncs.com"
    aliyun_sms_protocol: str = "https"
    # local stage only (RULES/API "Local stage"); empty elsewhere
    local_admin_phone: str = ""
    local_admin_totp_secret: str = ""
    local_integration_key_id: str = ""  # the shop's key: every scope
    local_integration_secret: str = ""
    local_game_key_id: str = ""  # the game server's key: only events:challenge.won
    local_game_secret: str = ""

    @property
    def is_local(self) -> bool:
        return self.stage == "local"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Fail closed: a deployed stage names every resource (some come from the template:
        infra/api.yaml ``Globals``), so the first container fails with a clear error."""
        env = dict(os.environ if env is None else env)
        stage = stage_from_env(env)
        local = stage == "local"
        missing = [name for name in REQUIRED if not local and not env.get(name)]
        if missing:
            raise ConfigurationError(f"stage {stage} needs {', '.join(missing)}")
        return cls(
            stage=stage,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "cn-north-1",
            table_name=env.get("TABLE_NAME", "member-points-local"),
            data_key_id=env.get("DATA_KEY_ID", "alias/member-points-local"),
            app_secret_id=env.get("APP_SECRET_ID", "member-points/local/app"),
            integration_keys_secret_id=env.get("INTEGRATION_KEYS_SECRET_ID", "member-points/local/integration-keys"),
            ops_topic_arn=env.get("OPS_TOPIC_ARN", ""),
            public_base_url=env.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            snapshot_bucket=env.get("SNAPSHOT_BUCKET", "member-points-local-settlements"),
            sms_queue_url=env.get("SMS_QUEUE_URL", ""),
            jobs_queue_url=env.get("JOBS_QUEUE_URL", ""),
            sms_provider=env.get("SMS_PROVIDER", "outbox" if local else ""),
            aliyun_sms_secret_id=env.get("ALIYUN_SMS_SECRET_ID", ""),
            aliyun_sms_sign_name=env.get("ALIYUN_SMS_SIGN_NAME", ""),
            aliyun_sms_templates=_templates(env.get("ALIYUN_SMS_TEMPLATES", "{}")),
            aliyun_sms_endpoint=env.get("ALIYUN_SMS_ENDPOINT", "dysmsapi.aliyuncs.com"),
            aliyun_sms_protocol=env.get("ALIYUN_SMS_PROTOCOL", "https").lower(),
            local_admin_phone=env.get("LOCAL_ADMIN_PHONE", "+8613800000000") if local else "",
            local_admin_totp_secret=(
                env.get("LOCAL_ADMIN_TOTP_SECRET", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP") if local else ""
            ),
            local_integration_key_id=env.get("LOCAL_INTEGRATION_KEY_ID", "local-shop") if local else "",
            local_integration_secret=(env.get("LOCAL_INTEGRATION_SECRET", "local-shop-secret") if local else ""),
            local_game_key_id=env.get("LOCAL_GAME_KEY_ID", "local-game") if local else "",
            local_game_secret=(env.get("LOCAL_GAME_SECRET", "local-game-server-secret") if local else ""),
        )

    def checked(self) -> Settings:
        """Refuse SMS settings that would fail only at the first code request."""
        if self.sms_provider not in SMS_PROVIDERS:
            choices = ", ".join(SMS_PROVIDERS)
            raise ConfigurationError(f"SMS_PROVIDER must be one of {choices}, not {self.sms_provider!r}")
        if self.sms_provider == "outbox" and not self.is_local:
            raise ConfigurationError("SMS_PROVIDER=outbox keeps codes in memory: the local stage only")
        if self.sms_provider == "aliyun":
            if not self.aliyun_sms_secret_id or not self.aliyun_sms_sign_name:
                raise ConfigurationError("SMS_PROVIDER=aliyun needs ALIYUN_SMS_SECRET_ID and ALIYUN_SMS_SIGN_NAME")
            missing = sorted(set(TEMPLATE_NAMES) - {name for name, code in self.aliyun_sms_templates if code})
            if missing:
                raise ConfigurationError(f"ALIYUN_SMS_TEMPLATES has no template code for {', '.join(missing)}")
            if self.aliyun_sms_protocol not in ("https", "http"):
                raise ConfigurationError("ALIYUN_SMS_PROTOCOL must be https")
            host = urlsplit(f"//{self.aliyun_sms_endpoint}").hostname
            if self.aliyun_sms_protocol == "http" and host not in _LOOPBACK:
                raise ConfigurationError("plain http carries numbers in clear: for a test endpoint on this machine")
        return self


def _templates(raw: str) -> tuple[tuple[str, str], ...]:
    try:
        templates = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"ALIYUN_SMS_TEMPLATES is not JSON: {exc}") from None
    if not isinstance(templates, dict) or not all(isinstance(v, str) for v in templates.values()):
        raise ConfigurationError('ALIYUN_SMS_TEMPLATES must be a JSON object {"<template name>": "<template code>"}')
    return tuple(sorted(templates.items()))
