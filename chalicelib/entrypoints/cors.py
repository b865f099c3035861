"""What browsers are told about cross-origin calls, in one place: the app's CORS
configuration, the headers browser code may read, and the stage's allowed origin, which
the local gateway also puts on its own error answers (as ``infra/api.yaml`` does in AWS).
"""

from __future__ import annotations

import os

from chalice import CORSConfig

# Headers browser code may read on any answer: the request id to quote to support, and
# how long to wait after a 429.
EXPOSED_HEADERS = ("X-Request-Id", "Retry-After")
ALLOWED_HEADERS = ("Authorization", "Idempotency-Key", "X-Integration-Key", "X-Timestamp", "X-Signature")


def allowed_origin() -> str:
    """The stage's allowed origin (``CORS_ALLOW_ORIGIN`` in .chalice/config.json)."""
    return os.environ.get("CORS_ALLOW_ORIGIN", "*")


def cors_config() -> CORSConfig:
    return CORSConfig(
        allow_origin=allowed_origin(),
        allow_headers=list(ALLOWED_HEADERS),
        expose_headers=list(EXPOSED_HEADERS),
        max_age=600,
    )
