"""Configuration fails closed: a Lambda without a known stage stops at import, and the
local stage's routes exist only where the local runner adds them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.config import REQUIRED, ConfigurationError, Settings

ROOT = Path(__file__).resolve().parents[2]
PROD = {
    "STAGE": "prod",
    "TABLE_NAME": "t",
    "DATA_KEY_ID": "alias/k",
    "APP_SECRET_ID": "s/app",
    "INTEGRATION_KEYS_SECRET_ID": "s/keys",
    "OPS_TOPIC_ARN": "arn:aws-cn:sns:cn-north-1:000000000000:ops",
    "PUBLIC_BASE_URL": "https://members.example.cn",
    "SNAPSHOT_BUCKET": "b",
    "SMS_QUEUE_URL": "https://sqs.cn-north-1.amazonaws.com.cn/000000000000/member-points-prod-sms",
}


def _import_app(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Import ``app`` in a fresh interpreter with exactly ``env`` (plus what Python needs)."""
    base = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "cn-north-1"}
    code = "import app; print(sorted(p for p in app.app.routes if p.startswith('/v1/dev')))"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("stage", [None, "", "production", "LOCAL"])
def test_the_app_does_not_import_without_a_known_stage(stage):
    result = _import_app({} if stage is None else {"STAGE": stage})

    assert result.returncode != 0
    assert "ConfigurationError: STAGE must be one of local, dev, prod" in result.stderr


def test_a_deployed_stage_imports_and_has_no_local_routes():
    result = _import_app({"STAGE": "prod"})

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_local_runner_adds_the_local_routes():
    code = (
        "from chalicelib.local import stage; stage.local_environment(); stage.start(); import app; "
        "print(sorted(p for p in app.app.routes if p.startswith('/v1/dev')))"
    )
    env = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "cn-north-1"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['/v1/dev/clock', '/v1/dev/sms']"


@pytest.mark.parametrize("missing", REQUIRED)
def test_a_deployed_stage_missing_a_resource_name_is_refused(missing):
    env = {k: v for k, v in PROD.items() if k != missing}

    with pytest.raises(ConfigurationError, match=missing):
        Settings.from_env(env)


def test_the_local_stage_never_runs_on_lambda():
    with pytest.raises(ConfigurationError, match="never runs on Lambda"):
        Settings.from_env({"STAGE": "local", "AWS_LAMBDA_FUNCTION_NAME": "member-points-prod"})


def test_the_local_stage_has_defaults_for_everything():
    settings = Settings.from_env({"STAGE": "local"})

    assert settings.is_local and settings.table_name and settings.local_admin_phone
