"""Secrets are cached with an expiry, so a rotated integration key takes effect without a deployment."""

from __future__ import annotations

import json
import time

from chalicelib.adapters.secrets import SecretsManagerSource
from chalicelib.local.aws import shared_session


def test_a_rotated_secret_is_read_again_once_its_cache_expires(stack):
    client = shared_session(stack.settings.region).client("secretsmanager")
    secret_id = stack.settings.integration_keys_secret_id
    source = SecretsManagerSource(client, max_age_s=1)
    before = source.get_json(secret_id)

    client.put_secret_value(SecretId=secret_id, SecretString=json.dumps({"rotated-key": "new-secret"}))

    assert source.get_json(secret_id) == before  # still cached
    time.sleep(1.1)
    assert source.get_json(secret_id) == {"rotated-key": "new-secret"}
