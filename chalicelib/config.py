"""Deployment settings read from the environment (set per stage in .chalice/config.json).

Business numbers do not live here: they are in ``chalicelib.domain.rules``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

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
            local_admin_phone=env.get("LOCAL_ADMIN_PHONE", "+8613800000000") if local else "",
            local_admin_totp_secret=(
                env.get("LOCAL_ADMIN_TOTP_SECRET", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP") if local else ""
            ),
            local_integration_key_id=env.get("LOCAL_INTEGRATION_KEY_ID", "local-shop") if local else "",
            local_integration_secret=(env.get("LOCAL_INTEGRATION_SECRET", "local-shop-secret") if local else ""),
            local_game_key_id=env.get("LOCAL_GAME_KEY_ID", "local-game") if local else "",
            local_game_secret=(env.get("LOCAL_GAME_SECRET", "local-game-server-secret") if local else ""),
        )
