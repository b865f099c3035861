"""JSON secrets from Secrets Manager (the application's master secret, the integrators'
keys), read through Powertools Parameters and cached for ``max_age_s`` per process: a
rotated or added integration key takes effect within that time without a deployment.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from aws_lambda_powertools.utilities.parameters import SecretsProvider

DEFAULT_MAX_AGE_S = 300


class SecretSource(Protocol):
    def get_json(self, secret_id: str) -> dict[str, Any]: ...


class SecretsManagerSource:
    def __init__(self, client: Any, max_age_s: int = DEFAULT_MAX_AGE_S) -> None:
        self._provider = SecretsProvider(boto3_client=client)
        self._max_age_s = max_age_s
        # Powertools' cache is a plain dict: one fetch at a time under the local threaded server
        self._lock = threading.Lock()

    def get_json(self, secret_id: str) -> dict[str, Any]:
        with self._lock:
            value = self._provider.get(secret_id, max_age=self._max_age_s, transform="json")
        if not isinstance(value, dict):
            raise ValueError(f"secret {secret_id} is not a JSON object")
        return value
