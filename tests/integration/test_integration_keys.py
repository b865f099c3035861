"""The integration-keys secret as the stage reads it: refreshed while a Lambda is warm
(so a rotation takes effect)."""

from __future__ import annotations

import boto3

from chalicelib.adapters.crypto import SecretsManagerSource


def test_a_secret_is_read_again_once_its_copy_is_max_age_old(stack):
    secrets_manager = boto3.client("secretsmanager", region_name=stack.settings.region)
    secrets_manager.create_secret(Name="test/rotating", SecretString='{"version": 1}')
    now = [1_000.0]
    source = SecretsManagerSource(secrets_manager, max_age_s=300, monotonic=lambda: now[0])
    assert source.get_json("test/rotating") == {"version": 1}

    secrets_manager.put_secret_value(SecretId="test/rotating", SecretString='{"version": 2}')
    now[0] += 299
    assert source.get_json("test/rotating") == {"version": 1}  # the copy is still fresh
    now[0] += 1
    assert source.get_json("test/rotating") == {"version": 2}

